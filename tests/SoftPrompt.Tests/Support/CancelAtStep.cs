using SoftPrompt.Training.Progress;

namespace SoftPrompt.Tests.Support;

/// <summary>Progress sink that fires a cancellation when training reports the given step (a Ctrl-C at a known
/// point).</summary>
public sealed class CancelAtStep(int step, CancellationTokenSource source) : ITrainingProgress
{
    public void Step(StepReport report) { if (report.Step == step) source.Cancel(); }
    public void Evaluated(EvaluationReport report) { }
    public void Message(string text) { }
}
