using System.Diagnostics;
using SoftPrompt.Engine;
using SoftPrompt.Engine.Autograd;
using SoftPrompt.Engine.Optim;
using SoftPrompt.Training.Checkpoints;
using SoftPrompt.Training.Progress;
using SoftPrompt.Training.Schedules;

namespace SoftPrompt.Training;

/// <summary>What a run optimises: the loss of one micro-batch it draws itself, and the number it is selected
/// by.</summary>
public interface ITrainingObjective
{
    /// <summary>Draws a micro-batch from <paramref name="random"/> (the step's own stream, so a resumed run draws the
    /// same batches) and returns its mean loss, a scalar on the tape, and how many examples or tokens it trained
    /// on.</summary>
    (Tensor Loss, long Seen) Loss(Tape tape, Random random);

    /// <summary>The validation figure: a score (accuracy, ROUGE-L; higher is better) or a loss (lower is better), as
    /// <see cref="TrainerOptions.HigherIsBetter"/> says.</summary>
    double Evaluate();

    /// <summary>The figures a person reads for the last <see cref="Evaluate"/>, when its score alone does not say
    /// them (a score that combines two, such as macro-F1 among states past an accuracy bar); null: the score
    /// itself.</summary>
    IReadOnlyDictionary<string, double>? FiguresOfLastEvaluation => null;
}

/// <summary>The loop's settings; everything that changes the result goes into <see cref="Fingerprint"/>, which a resume
/// checks against the checkpoint's.</summary>
public sealed record TrainerOptions
{
    public required int Steps { get; init; }
    /// <summary>Micro-batches whose gradients are summed (each scaled by 1/this) before each update.</summary>
    public int AccumulationSteps { get; init; } = 1;
    /// <summary>Global gradient-norm limit; 0 turns clipping off.</summary>
    public float ClipNorm { get; init; } = 1f;
    public required int EvaluateEvery { get; init; }
    /// <summary>Also score the starting weights (step 0) before the first update, as a candidate for the best: the
    /// kept weights are then never worse on validation than where training started.</summary>
    public bool EvaluateAtStart { get; init; }
    public required int CheckpointEvery { get; init; }
    /// <summary>Stop after this many evaluations without a better figure; 0 never stops early.</summary>
    public int Patience { get; init; }
    public required int Seed { get; init; }
    public NonFinitePolicy OnNonFinite { get; init; } = NonFinitePolicy.Stop;
    public required string Fingerprint { get; init; }
    /// <summary>True for a score (accuracy), false for a validation loss.</summary>
    public bool HigherIsBetter { get; init; }
    /// <summary>What a score is called in progress reports ("accuracy", "rouge_l"); unused for a loss.</summary>
    public string MetricName { get; init; } = "score";
    /// <summary>False when the validation loss adds several per-token losses (no perplexity can be read from
    /// it).</summary>
    public bool LossIsPerToken { get; init; } = true;
    /// <summary>What <see cref="ITrainingObjective.Loss"/> counts: "tokens" or "examples".</summary>
    public string Unit { get; init; } = "tokens";
    /// <summary>What the run is, for its resume message ("prompt tuning", "pretraining").</summary>
    public string Description { get; init; } = "training";
}

/// <param name="Stopped">True when the run was cancelled before its last step (a checkpoint was written first).</param>
public sealed record TrainerResult(int Steps, long Seen, double BestValue, int BestStep, float LastLoss,
    bool StoppedEarly, bool Stopped);

/// <summary>
/// The one training loop of every method: pretraining, prompt tuning and every baseline, ViT and T5. Per step: the
/// micro-batches of the step's own random streams (<see cref="BatchRandom"/>), their gradients summed, a NaN/Inf check
/// (stop, or skip the update), global-norm clipping, the schedule's learning rate, every optimizer's update; a
/// validation figure every few steps (the caller keeps or exports the best), optional early stopping, atomic
/// checkpoints (<see cref="TrainingCheckpoint"/>) that a resume continues from exactly, progress with rate and ETA,
/// and on cancel a checkpoint, then a stop.
/// </summary>
/// <param name="trained">The tensors the optimizers update (their gradients are checked and clipped).</param>
/// <param name="checkpointed">Everything a checkpoint keeps: <paramref name="trained"/> and any state beside it (a copy
/// of the best weights so far, say).</param>
public sealed class Trainer(IReadOnlyList<Tensor> trained, IReadOnlyList<Tensor> checkpointed,
    IReadOnlyList<IOptimizer> optimizers,
    LearningRateSchedule schedule, TrainerOptions options, ITrainingProgress? progress = null)
{
    private readonly ITrainingProgress _progress = progress ?? SilentProgress.Instance;

    /// <param name="checkpointDirectory">Where checkpoints go; null keeps none.</param>
    /// <param name="improved">Called with the step and the figure whenever validation improves.</param>
    public TrainerResult Run(ITrainingObjective objective, string? checkpointDirectory, bool resume,
        Action<int, double>? improved = null, CancellationToken cancel = default)
    {
        if (trained.Count == 0)
            throw new ArgumentException("Nothing to train: the list of trainable tensors is empty.");
        var state = new TrainingState { Seed = options.Seed, Fingerprint = options.Fingerprint };
        var search = resume && checkpointDirectory is not null ? TrainingCheckpoint.Find(checkpointDirectory) : null;
        if (search is { Whole: null, Rejected.Count: 0 })
            _progress.Message(
                $"Asked to resume, but {checkpointDirectory} holds no checkpoint yet; starting at step 0.");
        else if (search is not null) // a damaged copy and no whole one: Load refuses, naming the files
        {
            var saved = TrainingCheckpoint.Load(search, checkpointDirectory!, checkpointed, optimizers);
            if (saved.Fingerprint != state.Fingerprint)
                throw new InvalidOperationException(
                    $"The checkpoint in {checkpointDirectory} was made with different options ({saved.Fingerprint}); " +
                    $"now: {state.Fingerprint}. Start a new output directory or use the same options.");
            state = saved;
            _progress.Message(
                $"Resumed {options.Description} at step {state.Step} ({state.TokensSeen:N0} {options.Unit} seen, " +
                $"best validation " +
                              $"{(options.HigherIsBetter ? options.MetricName : "loss")} {Best(state):F4} at step " +
                                  $"{state.BestStep}).");
        }

        var tape = new Tape { ReleaseGradientsEagerly = true }; // only parameter gradients are read
        var clock = Stopwatch.StartNew();
        int firstStep = state.Step;
        long seenThisRun = 0;
        float lastLoss = float.NaN;
        bool stoppedEarly = false;
        if (options.EvaluateAtStart && state.Step == 0) state = Evaluated(objective, state, improved);
        while (state.Step < options.Steps)
        {
            if (cancel.IsCancellationRequested)
            {
                // Stopping (Ctrl-C, SIGTERM) keeps everything done so far: the resume point is exactly here.
                if (checkpointDirectory is not null) TrainingCheckpoint.Save(checkpointDirectory, checkpointed,
                    optimizers, state);
                _progress.Message($"Stopped at step {state.Step} of {options.Steps}; continue with --resume.");
                tape.Reset();
                return Result(state, lastLoss, stoppedEarly: false, stopped: true);
            }
            int step = state.Step;
            float loss = 0;
            long seen = 0;
            for (int micro = 0; micro < options.AccumulationSteps; micro++)
            {
                tape.Reset();
                var (l, count) = objective.Loss(tape, BatchRandom.For(options.Seed, step, micro,
                    options.AccumulationSteps));
                loss += l[0] / options.AccumulationSteps;
                seen += count;
                tape.Backward(l, new[] { 1f / options.AccumulationSteps });
            }
            lastLoss = loss;
            if (NonFiniteGuard.Problem(step + 1, loss, trained) is string problem)
            {
                if (options.OnNonFinite == NonFinitePolicy.Stop)
                    throw new InvalidOperationException(
                        $"{problem}; stopping rather than training on it (try a lower --lr, or --on-nan skip).");
                _progress.Message($"{problem}; skipping this update.");
                foreach (var o in optimizers) o.ZeroGrad();
                state = state with { Step = step + 1 };
                continue;
            }
            float norm = options.ClipNorm > 0 ? AdamW.ClipGradNorm(trained, options.ClipNorm) : 0f;
            float rate = schedule.At(step);
            foreach (var o in optimizers) { o.LearningRate = rate; o.Update(); o.ZeroGrad(); }
            state = state with { Step = step + 1, TokensSeen = state.TokensSeen + seen };
            seenThisRun += seen;

            double elapsed = clock.Elapsed.TotalSeconds;
            int done = state.Step - firstStep;
            _progress.Step(new StepReport(state.Step, options.Steps, loss, rate, norm, state.TokensSeen,
                seenThisRun / Math.Max(elapsed, 1e-9),
                TimeSpan.FromSeconds(elapsed / done * (options.Steps - state.Step)), options.Unit));

            bool last = state.Step == options.Steps;
            if (state.Step % options.EvaluateEvery == 0 || last)
            {
                tape.Reset();
                state = Evaluated(objective, state, improved);
                stoppedEarly = options.Patience > 0 && state.EvaluationsWithoutImprovement >= options.Patience;
            }
            if (checkpointDirectory is not null && (state.Step % options.CheckpointEvery == 0 || last || stoppedEarly))
                TrainingCheckpoint.Save(checkpointDirectory, checkpointed, optimizers, state);
            if (stoppedEarly)
            {
                _progress.Message(
                    $"Stopping early at step {state.Step}: no better validation " +
                    $"{(options.HigherIsBetter ? options.MetricName : "loss")} in {options.Patience} evaluations.");
                break;
            }
        }
        tape.Reset();
        return Result(state, lastLoss, stoppedEarly, stopped: false);
    }

    /// <summary>The validation figure at the current weights, kept as the best when it is better, and
    /// reported.</summary>
    private TrainingState Evaluated(ITrainingObjective objective, TrainingState state, Action<int, double>? improved)
    {
        double figure = objective.Evaluate();
        bool better = options.HigherIsBetter ? figure > state.BestScore : figure < state.BestValidationLoss;
        state = better
            ? (options.HigherIsBetter ? state with { BestScore = figure } : state with { BestValidationLoss =
                (float)figure })
              with { BestStep = state.Step, EvaluationsWithoutImprovement = 0 }
            : state with { EvaluationsWithoutImprovement = state.EvaluationsWithoutImprovement + 1 };
        if (better) improved?.Invoke(state.Step, figure);
        _progress.Evaluated(options.HigherIsBetter
            ? new EvaluationReport(state.Step, float.NaN, better, objective.FiguresOfLastEvaluation
                ?? new Dictionary<string, double> { [options.MetricName] = figure })
            : new EvaluationReport(state.Step, (float)figure, better, LossIsPerToken: options.LossIsPerToken));
        return state;
    }

    private double Best(TrainingState state) => options.HigherIsBetter ? state.BestScore : state.BestValidationLoss;

    private TrainerResult Result(TrainingState state, float lastLoss, bool stoppedEarly, bool stopped) =>
        new(state.Step, state.TokensSeen, Best(state), state.BestStep, lastLoss, stoppedEarly, stopped);
}
