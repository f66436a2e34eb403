using SoftPrompt.Training.Progress;

namespace SoftPrompt.Cli;

/// <summary>
/// Training progress on stderr: a line rewritten in place on a terminal, or one line every few seconds when the
/// output is redirected (a log file, CI), plus a line per evaluation.
/// </summary>
public sealed class ConsoleProgress(TimeSpan? logInterval = null) : ITrainingProgress
{
    private readonly bool _interactive = !Console.IsErrorRedirected;
    private readonly TimeSpan _interval = logInterval ?? TimeSpan.FromSeconds(30);
    private DateTime _lastLine = DateTime.MinValue;

    public void Step(StepReport r)
    {
        string line =
            $"step {r.Step}/{r.TotalSteps}  loss {r.Loss:F4}  lr {r.LearningRate:E2}  |g| {r.GradientNorm:F2}  " +
                      $"{Rate(r.TokensPerSecond)} {r.Unit}/s  {Count(r.TokensSeen)} {r.Unit}  ETA " +
                          $"{Format(r.Remaining)}";
        if (_interactive) Console.Error.Write("\r" + line.PadRight(110));
        else if (DateTime.UtcNow - _lastLine >= _interval || r.Step == r.TotalSteps)
        {
            Console.Error.WriteLine(line);
            _lastLine = DateTime.UtcNow;
        }
    }

    public void Evaluated(EvaluationReport r)
    {
        if (_interactive) Console.Error.WriteLine();
        var figures = new List<string>();
        if (float.IsFinite(r.ValidationLoss))
            figures.Add(r.LossIsPerToken ? $"validation loss {r.ValidationLoss:F4}, perplexity {r.Perplexity:F2}"
                : $"validation loss {r.ValidationLoss:F4}");
        if (r.Metrics is not null) figures.AddRange(r.Metrics.Select(m => $"validation {m.Key} {m.Value:P1}"));
        Console.Error.WriteLine(
            $"eval at step {r.Step}: {string.Join(", ", figures)}{(r.IsBest ? " (best so far: kept)" : "")}");
    }

    public void Message(string text)
    {
        if (_interactive) Console.Error.WriteLine();
        Console.Error.WriteLine(text);
    }

    private static string Rate(double perSecond) => perSecond >= 10_000 ? $"{perSecond / 1000:F1}k" : $"{perSecond:F1}";
    private static string Count(long n) => n >= 1_000_000 ? $"{n / 1e6:F2}M" : $"{n:N0}";

    private static string Format(TimeSpan t) => t.TotalHours >= 1 ? $"{(int)t.TotalHours}h{t.Minutes:D2}m"
        : $"{t.Minutes}m{t.Seconds:D2}s";
}
