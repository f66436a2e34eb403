namespace SoftPrompt.Engine;

/// <summary>
/// A setting out of range, named by its property (<see cref="Option"/>, e.g. "Steps") rather than by any command
/// line's flag: the library does not know how it was called. The CLI shows it under its flag ("--steps must be at
/// least 1"); a program using the library sees the property.
/// </summary>
public sealed class OptionException(string option, string problem) : ArgumentException($"{option} {problem}", option)
{
    public string Option { get; } = option;

    /// <summary>What is wrong, after the option's name ("must be at least 1 (got 0).").</summary>
    public string Problem { get; } = problem;
}
