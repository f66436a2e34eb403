using System.Numerics.Tensors;
using SoftPrompt.Engine.Kernels;

namespace SoftPrompt.Engine.Autograd;

public static partial class Fn
{
    // Each chunk reads the whole head for its logits — packing it (float32) or streaming a packed bfloat16 copy from
    // memory: 256 rows amortise that (128 spent ~40% of the float32 head's time packing at a 50k vocabulary; 64-row
    // chunks made a bf16 GPT-2 prompt step 25 % slower) for 2 × 256·V floats of scratch (100 MB at GPT-2's
    // vocabulary).
    private const int LogitRowsPerChunk = 256;

    /// <summary>
    /// CrossEntropy(Linear(x, w), targets) without materialising the (N, V) logits: rows go through the LM head in
    /// chunks, and since the loss is the last op, each chunk's gradient (softmax − one-hot) is turned at once into the
    /// gradients of x (and of w when it trains), kept until backward scales them by the incoming gradient. Same FLOPs
    /// as the unfused pair; the logits' memory shrinks from N·V to a chunk of rows.
    /// </summary>
    /// <param name="x">(N, D) hidden states.</param>
    /// <param name="w">(V, D) output embedding (the LM head).</param>
    public static Tensor LinearCrossEntropy(Tape tape, Tensor x, Tensor w, int[] targets, int ignoreIndex = -100)
    {
        int n = x.Rows, d = x.Cols, vocab = w.Dim(0);
        if (w.Rank != 2 || w.Dim(1) != d || n != targets.Length)
            throw new ArgumentException(
                $"LinearCrossEntropy: x {ShapeText(x)}, w {ShapeText(w)} and {targets.Length} targets do not fit (N, " +
                $"D), (V, D), N.");
        int counted = 0;
        for (int i = 0; i < n; i++)
        {
            if (targets[i] == ignoreIndex) continue;
            if ((uint)targets[i] >= (uint)vocab)
                throw new ArgumentOutOfRangeException(nameof(targets),
                    $"LinearCrossEntropy: target {targets[i]} at row {i} is outside the {vocab} classes.");
            counted++;
        }
        bool needs = tape.NeedsGrad(x, w) && counted > 0;
        var loss = tape.NewTensor(new[] { 1 }, needs);
        var dx = needs && x.RequiresGrad ? tape.NewTensor(new[] { n, d }, zero: true) : null;
        var dw = needs && w.RequiresGrad ? tape.NewTensor(new[] { vocab, d }, zero: true) : null;
        int chunkRows = Math.Min(LogitRowsPerChunk, Math.Max(1, n));
        var logits = tape.Scratch(chunkRows * vocab);
        var gradient = needs ? tape.Scratch(chunkRows * vocab) : null;
        var rowLosses = tape.Scratch(n);
        float scale = counted == 0 ? 0f : 1f / counted;
        // A frozen head held (or copied) in bfloat16 multiplies in the bfloat16 kernels where the CPU has them.
        var packed = Bf16Gemm.Enabled ? w.Bf16Operand(forInputGradient: false) : null;
        var packedForGradient = packed is not null && dx is not null ? w.Bf16Operand(forInputGradient: true) : null;
        for (int start = 0; start < n; start += chunkRows)
        {
            int rows = Math.Min(chunkRows, n - start);
            var chunk = logits.Span[..(rows * vocab)];
            var xChunk = x.ReadOnlySpan.Slice(start * d, rows * d);
            if (packed is not null) Ops.Linear.Forward(chunk, xChunk, packed, default, rows);
            else Sgemm.Multiply(false, true, rows, vocab, d, xChunk, w.ReadOnlySpan, chunk, accumulate: false);
            var chunkTargets = targets.AsSpan(start, rows);
            Ops.CrossEntropy.RowLosses(chunk, rows, vocab, chunkTargets, rowLosses.Span.Slice(start, rows),
                ignoreIndex);
            if (!needs) continue;
            // chunk ← scale·(softmax − one-hot), zero on ignored rows: the gradient of the mean loss w.r.t. these
            // logits
            var chunkGradient = gradient!.Span[..(rows * vocab)];
            chunkGradient.Clear();
            Ops.CrossEntropy.Backward(chunkGradient, chunk, rows, vocab, chunkTargets, ignoreIndex, scale,
                rowLosses.Span.Slice(start, rows));
            if (packedForGradient is not null) Ops.Linear.InputGradient(dx!.Span.Slice(start * d, rows * d),
                chunkGradient, packedForGradient, rows);
            else if (dx is not null) Sgemm.Multiply(false, false, rows, d, vocab, chunkGradient, w.ReadOnlySpan,
                dx.Span.Slice(start * d, rows * d), accumulate: true);
            if (dw is not null) Sgemm.Multiply(true, false, vocab, d, rows, chunkGradient, xChunk, dw.Span,
                accumulate: true);
        }
        double total = 0;
        foreach (float l in rowLosses.ReadOnlySpan) total += l;
        loss[0] = (float)(total * scale);
        if (needs)
            tape.Record(() =>
            {
                if (!loss.HasGrad) return;
                float g = loss.Grad[0];
                if (dx is not null) TensorPrimitives.FusedMultiplyAdd(dx.ReadOnlySpan, g, x.Grad, x.Grad);
                if (dw is not null) TensorPrimitives.FusedMultiplyAdd(dw.ReadOnlySpan, g, w.Grad, w.Grad);
            });
        return loss;
    }
}
