namespace SoftPrompt.Cli;

/// <summary>Turns the errors a user can cause (bad files, shapes, arguments) into one clear line and exit code 1,
/// instead of a stack trace. Anything else is a bug and keeps its trace.</summary>
public static class CliErrors
{
    public static int Run(Func<int> body) => Run(body, Console.Error);

    /// <summary>As <see cref="Run(Func{int})"/>, with the error line written to <paramref name="errors"/>.</summary>
    public static int Run(Func<int> body, TextWriter errors)
    {
        try
        {
            return body();
        }
        catch (Exception e) when (IsUserError(e))
        {
            string message = e is Engine.OptionException option ? $"{FlagOf(option.Option)} {option.Problem}"
                : e.Message;
            errors.WriteLine($"error: {message}");
            return 1;
        }
    }

    // The library names settings by property; the user typed flags.
    private static readonly Dictionary<string, string> Flags = new()
    {
        ["Steps"] = "--steps", ["BatchSize"] = "--batch", ["AccumulationSteps"] = "--accumulate",
        ["EvaluateEvery"] = "--eval-every",
        ["CheckpointEvery"] = "--checkpoint-every", ["LearningRate"] = "--lr", ["PeakLearningRate"] = "--lr",
        ["Optimizer"] = "--optimizer",
        ["WarmupSteps"] = "--warmup", ["Context"] = "--context", ["MixtureRows"] = "--mixture-rows",
        ["TopLayers"] = "--top-layers",
        ["Init"] = "--init", ["InitText"] = "--init-text", ["Loss"] = "--loss", ["OnNonFinite"] = "--on-nan",
        ["MaxNewTokens"] = "--max-tokens",
        ["Host"] = "--host", ["Preset"] = "--preset", ["Method"] = "--method", ["Methods"] = "--methods",
        ["Seeds"] = "--seeds", ["Weights"] = "--weights",
        ["BalanceLabels"] = "--balance-labels",
        ["KeepBy"] = "--keep-by", ["TaskRepeats"] = "--task-repeats", ["TaskText"] = "--task-text",
        ["InitFrom"] = "--init-from", ["Objective"] = "--objective", ["Recompute"] = "--recompute",
        ["Scores"] = "--scores",
    };

    public static string FlagOf(string option) => Flags.GetValueOrDefault(option, option);

    /// <summary>
    /// Files (IOException covers missing files and our ModelFormatException) and JSON are the user's; so are
    /// argument, state and format exceptions that our own code threw with a message for the user. The same types
    /// thrown inside the framework — a dictionary's missing key, LINQ's empty sequence, an index out of range — are
    /// bugs, and their stack trace is what fixes them.
    /// </summary>
    public static bool IsUserError(Exception e) =>
        e is IOException or UnauthorizedAccessException or System.Text.Json.JsonException
        || e is InvalidDataException or ArgumentException or KeyNotFoundException or NotSupportedException
            or InvalidOperationException
            && ThrownByOurCode(e);

    private static bool ThrownByOurCode(Exception e) =>
        e.TargetSite?.DeclaringType?.Namespace?.StartsWith("SoftPrompt", StringComparison.Ordinal) == true;
}
