using SoftPrompt.Data.Tasks;
using SoftPrompt.Engine;
using SoftPrompt.Engine.Optim;

namespace SoftPrompt.Tuning.PromptTuning;

public sealed record PromptTuningOptions
{
    public int Steps { get; init; } = 300;
    public int BatchSize { get; init; } = 8;
    public float LearningRate { get; init; } = 0.3f;
    public int EvaluateEvery { get; init; } = 50;
    public int Seed { get; init; } = 1;
}

public sealed record TuningStep(int Step, int TotalSteps, float Loss, double ExamplesPerSecond);
public sealed record TuningEvaluation(int Step, double Accuracy, bool IsBest);

/// <summary>
/// Trains only the soft prompt (Lester et al.): AdamW at a prompt-sized learning rate, periodic validation accuracy,
/// and the best prompt kept. Each step's batch depends only on the seed and the step, so runs repeat exactly.
/// </summary>
public sealed class PromptTuner(PromptClassifier classifier, PromptTuningOptions options)
{
    public double BestAccuracy { get; private set; } = double.NegativeInfinity;
    public int BestStep { get; private set; } = -1;

    public void Run(IReadOnlyList<LabeledExample> train, IReadOnlyList<LabeledExample> validation,
        Action<TuningStep>? onStep = null, Action<TuningEvaluation>? onEvaluation = null)
    {
        var prompt = classifier.Prompt ?? throw new InvalidOperationException("Prompt tuning needs a prompt to train.");
        var optimizer = new AdamW(new[] { prompt.Prompt }, options.LearningRate, weightDecay: 1e-5f);
        var best = prompt.Prompt.ToArray();
        var tape = new Tape();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (int step = 1; step <= options.Steps; step++)
        {
            var rng = new Random((int)((options.Seed * 1_000_003L + step) & int.MaxValue));
            var batch = Enumerable.Range(0, options.BatchSize).Select(_ => train[rng.Next(train.Count)]).ToList();
            tape.Reset();
            var loss = classifier.Loss(tape, batch);
            if (!float.IsFinite(loss[0])) throw new InvalidOperationException($"Step {step}: the loss is {loss[0]}; try a lower --lr.");
            tape.Backward(loss);
            AdamW.ClipGradNorm(optimizer.Parameters, 1f);
            optimizer.Update();
            optimizer.ZeroGrad();
            onStep?.Invoke(new TuningStep(step, options.Steps, loss[0], step * options.BatchSize / clock.Elapsed.TotalSeconds));
            if (step % options.EvaluateEvery == 0 || step == options.Steps)
            {
                tape.Reset();
                double accuracy = classifier.Accuracy(validation);
                bool improved = accuracy > BestAccuracy;
                if (improved) { BestAccuracy = accuracy; BestStep = step; best = prompt.Prompt.ToArray(); }
                onEvaluation?.Invoke(new TuningEvaluation(step, accuracy, improved));
            }
        }
        tape.Reset();
        best.CopyTo(prompt.Prompt.Span);
    }
}
