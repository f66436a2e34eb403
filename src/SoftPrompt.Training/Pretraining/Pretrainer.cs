using SoftPrompt.Engine;
using SoftPrompt.Engine.Autograd;
using SoftPrompt.Engine.Optim;
using SoftPrompt.Models;
using SoftPrompt.Training.Progress;
using SoftPrompt.Training.Schedules;

namespace SoftPrompt.Training.Pretraining;

/// <param name="Stopped">True when the run was cancelled before its last step (a checkpoint was written first).</param>
public sealed record PretrainResult(int Steps, long TokensSeen, float BestValidationLoss, int BestStep,
    float LastTrainingLoss, bool Stopped = false);

/// <summary>
/// What a pretraining run optimises: the loss of one step's batch, drawn from the step's own random source so that a
/// resumed run draws the same batches, and a validation loss over a fixed set.
/// </summary>
public interface IPretrainingObjective
{
    /// <summary>Draws a batch and returns its mean loss (a scalar on the tape) and how many tokens it trained
    /// on.</summary>
    (Tensor Loss, long Tokens) TrainingLoss(Tape tape, Random random);

    float ValidationLoss();

    /// <summary>False when <see cref="ValidationLoss"/> adds several per-token losses (no perplexity can be read from
    /// it).</summary>
    bool ValidationLossIsPerToken => true;
}

/// <summary>
/// Pretraining of every weight of a model — next-token for a causal LM, masked tokens for an encoder, or any
/// <see cref="IPretrainingObjective"/> (T5's span corruption): AdamW (weight decay on matrices only) with warm-up and
/// decay of the learning rate, run by the one <see cref="Trainer"/> (clipping, validation, exact resume, cancel).
/// </summary>
public sealed class Pretrainer
{
    private readonly TransformerModel? _model;
    private readonly PretrainOptions _options;
    private readonly ITrainingProgress _progress;
    private readonly AdamW _decayed, _undecayed;
    private readonly Tensor[] _trained;

    public Pretrainer(TransformerModel model, PretrainOptions options, ITrainingProgress? progress = null)
    {
        options.Validate();
        // A causal model cannot see the token it is asked to fill in; an encoder sees the next token it would predict.
        if (model.IsCausal != (options.Objective == PretrainObjective.NextToken))
            throw new ArgumentException(model.IsCausal
                ? "Masked-token pretraining needs an encoder (BERT); this model is causal."
                : "Next-token pretraining needs a causal model; an encoder sees the token it would predict (use the " +
                    "masked-token objective).");
        if (options.Context > model.Config.MaxPositions)
            throw new OptionException(nameof(options.Context),
                $"{options.Context} exceeds the model's {model.Config.MaxPositions} positions.");
        _model = model;
        (_options, _progress, _trained, _decayed, _undecayed) = Setup(model, options, progress);
    }

    /// <summary>Pretrains any model on an objective of its own
    /// (<see cref="Run(IPretrainingObjective, string, bool, Action{int, float}?, CancellationToken)"/>).</summary>
    public Pretrainer(ParameterizedModel model, PretrainOptions options, ITrainingProgress? progress = null)
    {
        options.Validate();
        (_options, _progress, _trained, _decayed, _undecayed) = Setup(model, options, progress);
    }

    private static (PretrainOptions, ITrainingProgress, Tensor[], AdamW, AdamW) Setup(ParameterizedModel model,
        PretrainOptions options, ITrainingProgress? progress)
    {
        model.SetTrainable(true);
        var trained = model.Parameters.Select(p => p.Tensor).Distinct().ToArray();
        // Norm gains and biases are not decayed: pulling a gain toward 0 fights the normalisation it scales.
        return (options, progress ?? SilentProgress.Instance, trained,
            new AdamW(trained.Where(t => t.Rank >= 2), options.PeakLearningRate, 0.9f, 0.95f, 1e-8f,
                options.WeightDecay),
            new AdamW(trained.Where(t => t.Rank < 2), options.PeakLearningRate, 0.9f, 0.95f, 1e-8f, 0f));
    }

    /// <summary>
    /// Trains until <see cref="PretrainOptions.Steps"/>, or until <paramref name="cancel"/> fires (then checkpoints and
    /// returns with Stopped set). With a checkpoint directory that holds a checkpoint and <paramref name="resume"/>,
    /// continues from it. <paramref name="onBest"/> runs when validation loss improves
    /// (the caller exports the model there).
    /// </summary>
    public PretrainResult Run(TokenCorpus train, TokenCorpus validation, string checkpointDirectory, bool resume,
        Action<int, float>? onBest = null, CancellationToken cancel = default)
    {
        var model = _model ?? throw new InvalidOperationException(
            "This pretrainer was made for an objective of its own; pass it to Run.");
        return Run(new LanguageModelObjective(model, _options, train, validation), checkpointDirectory, resume, onBest,
            cancel);
    }

    /// <summary>As the corpus overload, for any objective, through the one <see cref="Trainer"/>.</summary>
    public PretrainResult Run(IPretrainingObjective objective, string checkpointDirectory, bool resume,
        Action<int, float>? onBest = null, CancellationToken cancel = default)
    {
        var trainer = new Trainer(_trained, _trained, new IOptimizer[] { _decayed, _undecayed },
            new LearningRateSchedule(_options.PeakLearningRate, _options.WarmupSteps, _options.Steps, _options.Schedule,
                _options.MinLearningRateRatio),
            new TrainerOptions
            {
                Steps = _options.Steps, ClipNorm = _options.ClipNorm, EvaluateEvery = _options.EvaluateEvery,
                CheckpointEvery = _options.CheckpointEvery,
                Seed = _options.Seed, OnNonFinite = _options.OnNonFinite, Fingerprint = _options.Fingerprint,
                LossIsPerToken = objective.ValidationLossIsPerToken, Description = "pretraining",
            }, _progress);
        var result = trainer.Run(new Adapted(objective), checkpointDirectory, resume,
            onBest is null ? null : (step, loss) => onBest(step, (float)loss), cancel);
        return new PretrainResult(result.Steps, result.Seen, (float)result.BestValue, result.BestStep, result.LastLoss,
            result.Stopped);
    }

    /// <summary>A pretraining objective as the trainer sees it: its batches, and its validation loss.</summary>
    private sealed class Adapted(IPretrainingObjective objective) : ITrainingObjective
    {
        public (Tensor Loss, long Seen) Loss(Tape tape, Random random) => objective.TrainingLoss(tape, random);
        public double Evaluate() => objective.ValidationLoss();
    }

    /// <summary>Mean loss of a single-stack model's objective over the corpus's fixed evaluation windows.</summary>
    public float ValidationLoss(TokenCorpus validation) =>
        MeanLoss(_model ?? throw new InvalidOperationException(
            "This pretrainer trains an objective of its own; ask the objective."),
            validation, _options.BatchSize, _options.Context, _options.EvaluationBatches, _options.Masking);

    /// <summary>Next-token or masked-token windows of a token corpus, for a single-stack model.</summary>
    private sealed class LanguageModelObjective(TransformerModel model, PretrainOptions options, TokenCorpus train,
        TokenCorpus validation) : IPretrainingObjective
    {
        private readonly int[] _inputs = new int[options.BatchSize * options.Context],
            _targets = new int[options.BatchSize * options.Context];

        public (Tensor Loss, long Tokens) TrainingLoss(Tape tape, Random random)
        {
            int b = options.BatchSize, t = options.Context;
            train.SampleBatch(random, b, t, _inputs, _targets);
            options.Masking?.Apply(random, _inputs, _targets);
            var hidden = model.Hidden(tape, new ForwardInput { Batch = b, Length = t, TokenIds = _inputs });
            return (model.LanguageModelLoss(tape, hidden, _targets), (long)b * t);
        }

        public float ValidationLoss() => MeanLoss(model, validation, options.BatchSize, options.Context,
            options.EvaluationBatches, options.Masking);
    }

    /// <summary>
    /// Target-weighted mean loss of a model over fixed windows of a corpus: next-token (exp of it: perplexity), or with
    /// <paramref name="masking"/> masked-token, the masks drawn from a fixed seed so every evaluation hides the same
    /// tokens.
    /// </summary>
    public static float MeanLoss(TransformerModel model, TokenCorpus corpus, int batch, int context, int maxBatches,
        TokenMasking? masking = null)
    {
        var tape = new Tape(recording: false);
        var random = new Random(12345);
        double total = 0;
        long count = 0;
        foreach (var (inputs, targets, rows) in corpus.EvaluationBatches(batch, context, maxBatches))
        {
            masking?.Apply(random, inputs, targets);
            tape.Reset();
            var hidden = model.Hidden(tape, new ForwardInput { Batch = rows, Length = context, TokenIds = inputs });
            int scored = targets.Count(target => target != TokenMasking.Ignored);
            total += model.LanguageModelLoss(tape, hidden, targets)[0] * (double)scored;
            count += scored;
        }
        tape.Reset();
        return (float)(total / count);
    }
}
