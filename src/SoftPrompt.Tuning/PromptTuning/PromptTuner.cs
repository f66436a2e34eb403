using SoftPrompt.Data.Tasks;
using SoftPrompt.Engine;
using SoftPrompt.Engine.Optim;
using SoftPrompt.Training;
using SoftPrompt.Training.Progress;
using SoftPrompt.Training.Schedules;

namespace SoftPrompt.Tuning.PromptTuning;

public sealed record PromptTuningOptions
{
    public int Steps { get; init; } = 300;
    public int BatchSize { get; init; } = 8;
    /// <summary>Micro-batches whose gradients are summed before each update (effective batch = BatchSize ×
    /// this).</summary>
    public int AccumulationSteps { get; init; } = 1;
    /// <summary>"adafactor" (Lester et al.) or "adamw".</summary>
    public string Optimizer { get; init; } = "adafactor";
    public float LearningRate { get; init; } = 0.3f;
    public ScheduleShape Schedule { get; init; } = ScheduleShape.Constant;
    public int WarmupSteps { get; init; }
    public float WeightDecay { get; init; } = 1e-5f;
    /// <summary>Global gradient-norm limit; 0 turns clipping off.</summary>
    public float ClipNorm { get; init; } = 1f;
    public int EvaluateEvery { get; init; } = 50;
    /// <summary>Score the initial prompt too (step 0), so the kept one is never worse on validation than its
    /// start.</summary>
    public bool EvaluateInit { get; init; }
    /// <summary>Stop after this many evaluations without a better validation score; 0 never stops early.</summary>
    public int Patience { get; init; }
    public int CheckpointEvery { get; init; } = 50;
    public int Seed { get; init; } = 1;
    /// <summary>NaN or Inf in the loss or a gradient: stop with an error naming the step and tensor, or skip the
    /// update.</summary>
    public NonFinitePolicy OnNonFinite { get; init; } = NonFinitePolicy.Stop;

    public string Fingerprint =>
        $"steps={Steps};batch={BatchSize};accumulate={AccumulationSteps};optimizer={Optimizer};lr={LearningRate};" +
        $"schedule={Schedule};" +
        $"warmup={WarmupSteps};wd={WeightDecay};clip={ClipNorm};eval={EvaluateEvery};seed={Seed}" +
        (EvaluateInit ? ";evaluate-init" : "");

    public void Validate()
    {
        foreach (var (name, value) in new[] { (nameof(Steps), Steps), (nameof(BatchSize), BatchSize),
            (nameof(AccumulationSteps), AccumulationSteps),
                     (nameof(EvaluateEvery), EvaluateEvery), (nameof(CheckpointEvery), CheckpointEvery) })
            if (value < 1) throw new OptionException(name, $"must be at least 1 (got {value}).");
        if (!(LearningRate > 0)) throw new OptionException(nameof(LearningRate),
            $"must be positive (got {LearningRate}).");
        if (Optimizer is not ("adafactor" or "adamw")) throw new OptionException(nameof(Optimizer),
            $"'{Optimizer}' is not known: use adafactor or adamw.");
        if (WarmupSteps < 0 || WarmupSteps > Steps) throw new OptionException(nameof(WarmupSteps),
            $"must be between 0 and the number of steps ({Steps}); got {WarmupSteps}.");
    }
}

/// <param name="BestScore">Best validation score (accuracy, or ROUGE-L for generation).</param>
/// <param name="Stopped">Cancelled before the last step: the checkpoint holds the resume point.</param>
public sealed record PromptTuningResult(int Steps, double BestScore, int BestStep, bool StoppedEarly,
    bool Stopped = false);

/// <summary>
/// Trains only the soft prompt (Lester et al.) — or the tensors a baseline names — through the one
/// <see cref="Trainer"/>: Adafactor or AdamW at a prompt-sized learning rate with a schedule, gradient accumulation and
/// clipping, a validation score (accuracy, ROUGE-L) every few steps with the best weights kept (in the checkpoint too)
/// and restored at the end, optional early stopping, and checkpoints a resume continues from exactly.
/// </summary>
public sealed class PromptTuner<TExample>
{
    private readonly IPromptObjective<TExample> _objective;
    private readonly PromptTuningOptions _options;
    private readonly ITrainingProgress _progress;
    private readonly IReadOnlyList<Tensor>? _trainable;

    /// <param name="trainable">What to train: by default the objective's soft prompt; the baselines pass model weights
    /// (all of them, the top layers', the biases or norm gains), which must have names and RequiresGrad set.</param>
    public PromptTuner(IPromptObjective<TExample> objective, PromptTuningOptions options, ITrainingProgress? progress =
        null,
        IReadOnlyList<Tensor>? trainable = null)
    {
        options.Validate();
        _objective = objective;
        _trainable = trainable;
        _options = options;
        _progress = progress ?? SilentProgress.Instance;
    }

    /// <summary>What a resumed run must share with its checkpoint: the options, and what the validation score is
    /// (a best score kept by accuracy cannot be compared with one kept by macro-F1).</summary>
    public string Fingerprint => $"{_options.Fingerprint};score={_objective.ScoreName}";

    public PromptTuningResult Run(IReadOnlyList<TExample> train, IReadOnlyList<TExample> validation,
        string? checkpointDirectory = null, bool resume = false, CancellationToken cancel = default)
    {
        var weights = _trainable
            ?? new[] { (_objective.Prompt ?? throw new InvalidOperationException(
            "Prompt tuning needs a prompt to train.")).Prompt };
        if (weights.Count == 0)
            throw new ArgumentException("Nothing to train: the list of trainable tensors is empty.");
        IOptimizer optimizer = _options.Optimizer == "adamw"
            ? new AdamW(weights, _options.LearningRate, weightDecay: _options.WeightDecay)
            : new Adafactor(weights, _options.LearningRate, weightDecay: _options.WeightDecay);
        // The best weights so far are part of the checkpoint, so a resumed run still returns the best ones.
        var best = weights.Select(w => Tensor.FromArray(w.ToArray(), w.Shape, name: "best." + w.Name)).ToArray();
        var trainer = new Trainer(weights, weights.Concat(best).ToArray(), new[] { optimizer },
            new LearningRateSchedule(_options.LearningRate, _options.WarmupSteps, _options.Steps, _options.Schedule),
                new TrainerOptions
            {
                Steps = _options.Steps, AccumulationSteps = _options.AccumulationSteps, ClipNorm = _options.ClipNorm,
                EvaluateEvery = _options.EvaluateEvery, EvaluateAtStart = _options.EvaluateInit,
                CheckpointEvery = _options.CheckpointEvery,
                Patience = _options.Patience,
                Seed = _options.Seed, OnNonFinite = _options.OnNonFinite, Fingerprint = Fingerprint,
                HigherIsBetter = true, MetricName = _objective.ScoreName, Unit = "examples",
                Description = "prompt tuning",
            }, _progress);
        var result = trainer.Run(new BatchesOf(_objective, train, validation, _options.BatchSize), checkpointDirectory,
            resume,
            (_, _) => { for (int i = 0; i < weights.Count; i++) weights[i].ReadOnlySpan.CopyTo(best[i].Span); },
                cancel);
        for (int i = 0; i < weights.Count; i++) best[i].ReadOnlySpan.CopyTo(weights[i].Span);
        return new PromptTuningResult(result.Steps, result.BestValue, result.BestStep, result.StoppedEarly,
            result.Stopped);
    }

    /// <summary>The objective as the trainer sees it: each micro-batch <c>batchSize</c> training examples drawn with
    /// replacement from the step's stream; the score over the validation examples.</summary>
    private sealed class BatchesOf(IPromptObjective<TExample> objective, IReadOnlyList<TExample> train,
        IReadOnlyList<TExample> validation, int batchSize)
        : ITrainingObjective
    {
        public (Tensor Loss, long Seen) Loss(Tape tape, Random random)
        {
            var batch = Enumerable.Range(0, batchSize).Select(_ => train[random.Next(train.Count)]).ToList();
            return (objective.Loss(tape, batch), batch.Count);
        }

        public double Evaluate() => objective.Score(validation);

        public IReadOnlyDictionary<string, double>? FiguresOfLastEvaluation => objective.FiguresOfLastScore;
    }
}
