using SoftPrompt.Models;

namespace SoftPrompt.Cli.Bench;

/// <summary>
/// Floating-point work of the bench's GPT-2-shaped steps (2 FLOPs per multiply-add), counted from the shapes: the
/// block matrices (24·d² per token and layer: qkv 6d², projection 2d², MLP 16d²), attention (QKᵀ and AV, 4·t·d per
/// token and layer over the t positions it attends), and the LM head (2·d·V per scored token). A backward pass through
/// a frozen matrix computes only the input gradient (the forward's FLOPs again); a trained one also its weight
/// gradient (once more); attention's backward is twice its forward. Norms, activations and the optimizer are left
/// out, so the floor (these FLOPs at the host's measured FMA peak) is a little low: no implementation can beat it.
/// </summary>
public static class StepFlops
{
    private static (double Blocks, double Attention) Body(ModelConfig c, int batch, int length)
    {
        double d = c.HiddenSize;
        return (2.0 * batch * length * c.NumLayers * 12 * d * d,
            4.0 * batch * length * (double)length * d * c.NumLayers);
    }

    private static double Head(ModelConfig c, int batch, int scored) =>
        2.0 * batch * scored * c.HiddenSize * c.VocabSize;

    /// <summary>Forward with logits at every position (inference).</summary>
    public static double Forward(ModelConfig c, int batch, int tokens)
    {
        var (blocks, attention) = Body(c, batch, tokens);
        return blocks + attention + Head(c, batch, tokens);
    }

    /// <summary>Prompt tuning: forward over prompt + text (LM head on the text), backward to the prompt only.</summary>
    public static double PromptTuning(ModelConfig c, int batch, int promptTokens, int tokens)
    {
        var (blocks, attention) = Body(c, batch, promptTokens + tokens);
        double head = Head(c, batch, tokens);
        return (blocks + attention + head) + (blocks + 2 * attention + head);
    }

    /// <summary>Full fine-tuning: forward, then input and weight gradients of every matrix.</summary>
    public static double FullFineTuning(ModelConfig c, int batch, int tokens)
    {
        var (blocks, attention) = Body(c, batch, tokens);
        double head = Head(c, batch, tokens);
        return (blocks + attention + head) + (2 * blocks + 2 * attention + 2 * head);
    }
}
