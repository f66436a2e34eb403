namespace SoftPrompt.Training.Progress;

/// <summary>One step's figures, for a progress bar and the training log.</summary>
/// <param name="Unit">What <paramref name="TokensSeen"/> counts: "tokens" for pretraining, "examples" for
/// tuning.</param>
public sealed record StepReport(int Step, int TotalSteps, float Loss, float LearningRate, float GradientNorm,
    long TokensSeen, double TokensPerSecond, TimeSpan Remaining, string Unit = "tokens");

/// <summary>One evaluation's figures.</summary>
/// <param name="LossIsPerToken">False when the validation figure is a sum of several losses (corpus + answers), whose
/// exponential is no perplexity.</param>
public sealed record EvaluationReport(int Step, float ValidationLoss, bool IsBest, IReadOnlyDictionary<string,
    double>? Metrics = null,
    bool LossIsPerToken = true)
{
    public double Perplexity => Math.Exp(ValidationLoss);
}

/// <summary>Where long-running work reports to: a console progress bar in the CLI, nothing in tests.</summary>
public interface ITrainingProgress
{
    void Step(StepReport report);
    void Evaluated(EvaluationReport report);
    void Message(string text);
}

public sealed class SilentProgress : ITrainingProgress
{
    public static readonly SilentProgress Instance = new();
    public void Step(StepReport report) { }
    public void Evaluated(EvaluationReport report) { }
    public void Message(string text) { }
}
