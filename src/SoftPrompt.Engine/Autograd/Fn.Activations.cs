using SoftPrompt.Engine.Ops;

namespace SoftPrompt.Engine.Autograd;

public static partial class Fn
{
    /// <summary>GELU, tanh approximation (GPT-2's "gelu_new").</summary>
    public static Tensor Gelu(Tape tape, Tensor x) => Pointwise(tape, x, Activations.Gelu, Activations.GeluBackward,
        backwardReadsOutput: false);

    /// <summary>GELU, exact erf form (BERT's and Hugging Face's "gelu").</summary>
    public static Tensor GeluErf(Tape tape, Tensor x) => Pointwise(tape, x, Activations.GeluErf,
        Activations.GeluErfBackward, backwardReadsOutput: false);

    public static Tensor Silu(Tape tape, Tensor x) => Pointwise(tape, x, Activations.Silu, Activations.SiluBackward,
        backwardReadsOutput: false);

    public static Tensor Relu(Tape tape, Tensor x) => Pointwise(tape, x, Activations.Relu, Activations.ReluBackward,
        backwardReadsOutput: false);

    public static Tensor Sigmoid(Tape tape, Tensor x) => Pointwise(tape, x, Activations.Sigmoid,
        Activations.SigmoidBackward, backwardReadsOutput: true);

    public static Tensor Tanh(Tape tape, Tensor x) => Pointwise(tape, x, Activations.Tanh, Activations.TanhBackward,
        backwardReadsOutput: true);

    /// <summary>silu(gate) · up, LLaMA's gated MLP activation; gate and up have the same shape.</summary>
    public static Tensor SwiGlu(Tape tape, Tensor gate, Tensor up)
    {
        RequireSameLength("SwiGlu", gate, up);
        bool needs = tape.NeedsGrad(gate, up);
        var y = tape.NewLike(gate, needs);
        Activations.SwiGlu(y.Span, gate.ReadOnlySpan, up.ReadOnlySpan);
        if (needs)
            tape.Record(() =>
            {
                if (y.HasGrad) Activations.SwiGluBackward(GradIfNeeded(gate), GradIfNeeded(up), y.Grad,
                    gate.ReadOnlySpan, up.ReadOnlySpan);
            });
        return y;
    }

    private delegate void PointwiseForward(Span<float> y, ReadOnlySpan<float> x);
    private delegate void PointwiseBackward(Span<float> dx, ReadOnlySpan<float> dy, ReadOnlySpan<float> saved);

    // One shape for every single-input activation: the backward reads either the input or the output.
    private static Tensor Pointwise(Tape tape, Tensor x, PointwiseForward forward, PointwiseBackward backward,
        bool backwardReadsOutput)
    {
        bool needs = tape.NeedsGrad(x);
        var y = tape.NewLike(x, needs);
        InParts(x.Length, (start, n) => forward(y.Span.Slice(start, n), x.ReadOnlySpan.Slice(start, n)));
        if (needs)
            tape.Record(() =>
            {
                if (!y.HasGrad) return;
                _ = x.Grad; // allocated here, before the parts read it from two threads
                var read = backwardReadsOutput ? y : x;
                InParts(x.Length, (start, n) => backward(x.Grad.Slice(start, n), y.Grad.Slice(start, n),
                    read.ReadOnlySpan.Slice(start, n)));
            });
        return y;
    }

    // An MLP's activation is 20 M elements per step at GPT-2 size: worth both threads.
    private static void InParts(int length, Action<int, int> part) => Parallelism.ForParts(length, 1 << 16, part);
}
