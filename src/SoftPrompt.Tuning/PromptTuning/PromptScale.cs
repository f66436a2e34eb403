using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using SoftPrompt.Engine;

namespace SoftPrompt.Tuning.PromptTuning;

/// <summary>
/// Sizes a soft prompt's numbers to the frozen token embeddings it sits beside. Adafactor and Adam move every
/// coordinate by about the learning rate each step, whatever the gradient's size, so a learning rate only means
/// something relative to the embeddings' scale. Lester et al.'s 0.3 was set for T5; on our LLaMA-shaped bases (token
/// embedding RMS ~0.08) it moved each coordinate by ~4× a word's RMS per step: the prompt's rows grew to norm ~36
/// against a word's ~1.1, the first RMSNorm divided the learning signal away, and the prompt learned only the label
/// prior (spam on base-v2: 70.7 % at lr 0.3, majority 70.0 %; 76.8 % at 0.003, reports/promptable-base).
/// </summary>
public static class PromptScale
{
    /// <summary>A step of ~4 % of the embeddings' RMS: the best of lr 0.001–0.3 in that sweep.</summary>
    public const float StepFraction = 0.04f;

    /// <summary>Root mean square of the token embedding table (V, D).</summary>
    public static float Rms(Tensor embedding) =>
        MathF.Sqrt(TensorPrimitives.SumOfSquares(embedding.ReadOnlySpan) / embedding.Length);

    /// <summary>The default prompt learning rate for a frozen model with this token embedding table.</summary>
    public static float LearningRate(Tensor embedding) => StepFraction * Rms(embedding);

    /// <summary>Half-width of a uniform init whose RMS equals the embeddings' (a uniform on ±r has RMS r/√3).</summary>
    public static float UniformRange(Tensor embedding) => MathF.Sqrt(3f) * Rms(embedding);
}
