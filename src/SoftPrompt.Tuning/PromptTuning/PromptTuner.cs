using System.Diagnostics;
using SoftPrompt.Data.Tasks;
using SoftPrompt.Engine;
using SoftPrompt.Engine.Optim;
using SoftPrompt.Training;
using SoftPrompt.Training.Checkpoints;
using SoftPrompt.Training.Progress;
using SoftPrompt.Training.Schedules;

namespace SoftPrompt.Tuning.PromptTuning;

public sealed record PromptTuningOptions
{
    public int Steps { get; init; } = 300;
    public int BatchSize { get; init; } = 8;
    /// <summary>Micro-batches whose gradients are summed before each update (effective batch = BatchSize × this).</summary>
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
    /// <summary>Stop after this many evaluations without a better validation score; 0 never stops early.</summary>
    public int Patience { get; init; }
    public int CheckpointEvery { get; init; } = 50;
    public int Seed { get; init; } = 1;
    /// <summary>NaN or Inf in the loss or a gradient: stop with an error naming the step and tensor, or skip the update.</summary>
    public NonFinitePolicy OnNonFinite { get; init; } = NonFinitePolicy.Stop;

    public string Fingerprint =>
        $"steps={Steps};batch={BatchSize};accumulate={AccumulationSteps};optimizer={Optimizer};lr={LearningRate};schedule={Schedule};" +
        $"warmup={WarmupSteps};wd={WeightDecay};clip={ClipNorm};eval={EvaluateEvery};seed={Seed}";

    public void Validate()
    {
        if (Steps < 1 || BatchSize < 1 || AccumulationSteps < 1 || EvaluateEvery < 1 || CheckpointEvery < 1)
            throw new ArgumentException("--steps, --batch, --accumulate, --eval-every and --checkpoint-every must be at least 1.");
        if (!(LearningRate > 0)) throw new ArgumentException($"--lr must be positive (got {LearningRate}).");
        if (Optimizer is not ("adafactor" or "adamw")) throw new ArgumentException($"Unknown --optimizer '{Optimizer}': use adafactor or adamw.");
        if (WarmupSteps < 0 || WarmupSteps > Steps) throw new ArgumentException($"--warmup must be between 0 and --steps ({Steps}).");
    }
}

/// <param name="BestScore">Best validation score (accuracy, or ROUGE-L for generation).</param>
public sealed record PromptTuningResult(int Steps, double BestScore, int BestStep, bool StoppedEarly);

/// <summary>
/// Trains only the soft prompt (Lester et al.): Adafactor or AdamW at a prompt-sized learning rate with a schedule,
/// gradient accumulation and clipping, a validation score (accuracy, ROUGE-L) every few steps with the best prompt
/// kept, optional early stopping, and checkpoints a resume continues from exactly (each micro-batch depends only on
/// the seed and the step).
/// </summary>
public sealed class PromptTuner<TExample>
{
    private readonly IPromptObjective<TExample> _objective;
    private readonly PromptTuningOptions _options;
    private readonly ITrainingProgress _progress;
    private readonly IReadOnlyList<Tensor>? _trainable;

    /// <param name="trainable">What to train: by default the objective's soft prompt; the baselines pass model weights
    /// (all of them, the top layers', the biases or norm gains), which must have names and RequiresGrad set.</param>
    public PromptTuner(IPromptObjective<TExample> objective, PromptTuningOptions options, ITrainingProgress? progress = null,
        IReadOnlyList<Tensor>? trainable = null)
    {
        options.Validate();
        _objective = objective;
        _trainable = trainable;
        _options = options;
        _progress = progress ?? SilentProgress.Instance;
    }

    public PromptTuningResult Run(IReadOnlyList<TExample> train, IReadOnlyList<TExample> validation,
        string? checkpointDirectory = null, bool resume = false, CancellationToken cancel = default)
    {
        var weights = _trainable ?? new[] { (_objective.Prompt ?? throw new InvalidOperationException("Prompt tuning needs a prompt to train.")).Prompt };
        if (weights.Count == 0) throw new ArgumentException("Nothing to train: the list of trainable tensors is empty.");
        IOptimizer optimizer = _options.Optimizer == "adamw"
            ? new AdamW(weights, _options.LearningRate, weightDecay: _options.WeightDecay)
            : new Adafactor(weights, _options.LearningRate, weightDecay: _options.WeightDecay);
        // The best weights so far are part of the checkpoint, so a resumed run still returns the best ones.
        var best = weights.Select(w => Tensor.FromArray(w.ToArray(), w.Shape, name: "best." + w.Name)).ToArray();
        var saved = weights.Concat(best).ToArray();
        var state = new TrainingState { Seed = _options.Seed, Fingerprint = _options.Fingerprint };
        var search = resume && checkpointDirectory is not null ? TrainingCheckpoint.Find(checkpointDirectory) : null;
        if (search is { Whole: null, Rejected.Count: 0 })
            _progress.Message($"Asked to resume, but {checkpointDirectory} holds no checkpoint yet; starting at step 0.");
        else if (search is not null) // a damaged copy and no whole one: Load refuses, naming the files
        {
            var loaded = TrainingCheckpoint.Load(search, checkpointDirectory!, saved, new[] { optimizer });
            if (loaded.Fingerprint != state.Fingerprint)
                throw new InvalidOperationException($"The checkpoint in {checkpointDirectory} was made with other options ({loaded.Fingerprint}); now: {state.Fingerprint}.");
            state = loaded;
            _progress.Message($"Resumed prompt tuning at step {state.Step} (best validation {_objective.ScoreName} {state.BestScore:F4} at step {state.BestStep}).");
        }

        var schedule = new LearningRateSchedule(_options.LearningRate, _options.WarmupSteps, _options.Steps, _options.Schedule);
        var tape = new Tape { ReleaseGradientsEagerly = true }; // only parameter gradients are read
        var clock = Stopwatch.StartNew();
        int firstStep = state.Step;
        bool stoppedEarly = false;
        while (state.Step < _options.Steps)
        {
            cancel.ThrowIfCancellationRequested();
            int step = state.Step;
            float loss = 0;
            for (int micro = 0; micro < _options.AccumulationSteps; micro++)
            {
                var rng = BatchRandom.For(_options.Seed, step, micro, _options.AccumulationSteps);
                var batch = Enumerable.Range(0, _options.BatchSize).Select(_ => train[rng.Next(train.Count)]).ToList();
                tape.Reset();
                var l = _objective.Loss(tape, batch);
                loss += l[0] / _options.AccumulationSteps;
                tape.Backward(l, new[] { 1f / _options.AccumulationSteps });
            }
            if (NonFiniteGuard.Problem(step + 1, loss, weights) is string problem)
            {
                if (_options.OnNonFinite == NonFinitePolicy.Stop)
                    throw new InvalidOperationException($"{problem}; stopping rather than training on it (try a lower --lr, or --on-nan skip).");
                _progress.Message($"{problem}; skipping this update.");
                optimizer.ZeroGrad();
                state = state with { Step = step + 1 };
                continue;
            }
            float norm = _options.ClipNorm > 0 ? AdamW.ClipGradNorm(optimizer.Parameters, _options.ClipNorm) : 0f;
            optimizer.LearningRate = schedule.At(step);
            optimizer.Update();
            optimizer.ZeroGrad();
            state = state with { Step = step + 1, TokensSeen = state.TokensSeen + _options.BatchSize * _options.AccumulationSteps };
            double elapsed = clock.Elapsed.TotalSeconds;
            int done = state.Step - firstStep;
            _progress.Step(new StepReport(state.Step, _options.Steps, loss, optimizer.LearningRate, norm, state.TokensSeen,
                done * (double)_options.BatchSize * _options.AccumulationSteps / Math.Max(elapsed, 1e-9),
                TimeSpan.FromSeconds(elapsed / done * (_options.Steps - state.Step)), Unit: "examples"));

            bool last = state.Step == _options.Steps;
            if (state.Step % _options.EvaluateEvery == 0 || last)
            {
                tape.Reset();
                double score = _objective.Score(validation);
                bool improved = score > state.BestScore;
                if (improved)
                {
                    state = state with { BestScore = score, BestStep = state.Step, EvaluationsWithoutImprovement = 0 };
                    for (int i = 0; i < weights.Count; i++) weights[i].ReadOnlySpan.CopyTo(best[i].Span);
                }
                else state = state with { EvaluationsWithoutImprovement = state.EvaluationsWithoutImprovement + 1 };
                _progress.Evaluated(new EvaluationReport(state.Step, float.NaN, improved, new Dictionary<string, double> { [_objective.ScoreName] = score }));
                stoppedEarly = _options.Patience > 0 && state.EvaluationsWithoutImprovement >= _options.Patience;
            }
            if (checkpointDirectory is not null && (state.Step % _options.CheckpointEvery == 0 || last || stoppedEarly))
                TrainingCheckpoint.Save(checkpointDirectory, saved, new[] { optimizer }, state);
            if (stoppedEarly)
            {
                _progress.Message($"Stopping early at step {state.Step}: no better validation score in {_options.Patience} evaluations.");
                break;
            }
        }
        tape.Reset();
        for (int i = 0; i < weights.Count; i++) best[i].ReadOnlySpan.CopyTo(weights[i].Span);
        return new PromptTuningResult(state.Step, state.BestScore, state.BestStep, stoppedEarly);
    }
}
