using SoftPrompt.Engine;
using SoftPrompt.Training.Schedules;

namespace SoftPrompt.Training.Pretraining;

/// <summary>Pretraining settings. Everything that changes the result is part of the fingerprint a resume
/// checks.</summary>
public sealed record PretrainOptions
{
    public PretrainObjective Objective { get; init; } = PretrainObjective.NextToken;
    /// <summary>Required for <see cref="PretrainObjective.MaskedTokens"/>: which tokens to hide and how.</summary>
    public TokenMasking? Masking { get; init; }
    public int BatchSize { get; init; } = 16;
    public int Context { get; init; } = 256;
    public int Steps { get; init; } = 2000;
    public int WarmupSteps { get; init; } = 100;
    public float PeakLearningRate { get; init; } = 1e-3f;
    public float MinLearningRateRatio { get; init; } = 0.1f;
    public ScheduleShape Schedule { get; init; } = ScheduleShape.Cosine;
    public float WeightDecay { get; init; } = 0.1f;
    public float ClipNorm { get; init; } = 1f;
    public int EvaluateEvery { get; init; } = 200;
    public int EvaluationBatches { get; init; } = 16;
    public int CheckpointEvery { get; init; } = 100;
    public int Seed { get; init; } = 1;
    /// <summary>Rows of packed question-mixture examples trained beside the corpus rows in every step (0:
    /// none).</summary>
    public int MixtureRows { get; init; }
    /// <summary>NaN or Inf in the loss or a gradient: stop with an error naming the step and tensor, or skip the
    /// update.</summary>
    public NonFinitePolicy OnNonFinite { get; init; } = NonFinitePolicy.Stop;

    public string Fingerprint =>
        $"batch={BatchSize};context={Context};steps={Steps};warmup={WarmupSteps};lr={PeakLearningRate};" +
        $"min={MinLearningRateRatio};" +
        $"schedule={Schedule};wd={WeightDecay};clip={ClipNorm};seed={Seed}" +
        (Objective == PretrainObjective.MaskedTokens ? $";objective=mlm;mask-rate={Masking?.Rate}" : "") +
        (MixtureRows > 0 ? $";mixture-rows={MixtureRows}" : "");

    public void Validate()
    {
        if (BatchSize < 1) throw new OptionException(nameof(BatchSize), $"must be at least 1 (got {BatchSize}).");
        if (Context < 2) throw new OptionException(nameof(Context), $"must be at least 2 (got {Context}).");
        if (Steps < 1) throw new OptionException(nameof(Steps), $"must be at least 1 (got {Steps}).");
        if (WarmupSteps < 0 || WarmupSteps > Steps) throw new OptionException(nameof(WarmupSteps),
            $"must be between 0 and the number of steps ({Steps}); got {WarmupSteps}.");
        if (!(PeakLearningRate > 0)) throw new OptionException(nameof(PeakLearningRate),
            $"must be positive (got {PeakLearningRate}).");
        if (Objective == PretrainObjective.MaskedTokens && Masking is null)
            throw new ArgumentException("Masked-token pretraining needs the tokenizer's [MASK] token.");
        if (MixtureRows < 0) throw new OptionException(nameof(MixtureRows), $"must be 0 or more (got {MixtureRows}).");
        if (MixtureRows > 0 && Objective != PretrainObjective.NextToken)
            throw new OptionException(nameof(MixtureRows),
                "needs next-token pretraining (the questions are answered left to right).");
        if (EvaluateEvery < 1) throw new OptionException(nameof(EvaluateEvery),
            $"must be at least 1 (got {EvaluateEvery}).");
        if (CheckpointEvery < 1) throw new OptionException(nameof(CheckpointEvery),
            $"must be at least 1 (got {CheckpointEvery}).");
    }
}
