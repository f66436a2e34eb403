namespace SoftPrompt.Engine.Autograd;

public static partial class Fn
{
    /// <summary>
    /// One LSTM step (PyTorch nn.LSTMCell, gate order i, f, g, o). x (B, In), h and c (B, H), wIh (4H, In),
    /// wHh (4H, H), biases (4H) or null. Returns the next hidden and cell state, each (B, H).
    /// </summary>
    public static (Tensor H, Tensor C) LstmCell(Tape tape, Tensor x, Tensor h, Tensor c, Tensor wIh, Tensor wHh,
        Tensor? bIh, Tensor? bHh)
    {
        if (x.Rank != 2 || h.Rank != 2 || c.Rank != 2)
            throw new ArgumentException(
                $"LstmCell: x, h, c must be rank 2; got [{string.Join(", ", x.Shape)}], " +
                $"[{string.Join(", ", h.Shape)}], [{string.Join(", ", c.Shape)}].");
        int batch = x.Dim(0), inF = x.Dim(1), hidden = h.Dim(1);
        if (h.Dim(0) != batch || c.Dim(0) != batch || c.Dim(1) != hidden)
            throw new ArgumentException(
                $"LstmCell: h [{string.Join(", ", h.Shape)}] and c [{string.Join(", ", c.Shape)}] must both be " +
                $"({batch}, H) for x [{string.Join(", ", x.Shape)}].");
        if (wIh.Rank != 2 || wIh.Dim(0) != 4 * hidden || wIh.Dim(1) != inF)
            throw new ArgumentException(
                $"LstmCell: wIh ({wIh.Name}) is [{string.Join(", ", wIh.Shape)}], expected [{4 * hidden}, {inF}].");
        if (wHh.Rank != 2 || wHh.Dim(0) != 4 * hidden || wHh.Dim(1) != hidden)
            throw new ArgumentException(
                $"LstmCell: wHh ({wHh.Name}) is [{string.Join(", ", wHh.Shape)}], expected [{4 * hidden}, {hidden}].");
        CheckBias(bIh, hidden);
        CheckBias(bHh, hidden);

        bool needs = tape.NeedsGrad([x, h, c, wIh, wHh, bIh, bHh]);
        var hOut = tape.NewTensor(new[] { batch, hidden }, needs);
        var cOut = tape.NewTensor(new[] { batch, hidden }, needs);
        var gates = tape.Scratch(batch * 4 * hidden);
        Ops.LstmCell.Forward(hOut.Span, cOut.Span, gates.Span, x.ReadOnlySpan, h.ReadOnlySpan, c.ReadOnlySpan,
            wIh.ReadOnlySpan, wHh.ReadOnlySpan, Values(bIh), Values(bHh), batch, inF, hidden);
        if (needs)
            tape.Record(() =>
            {
                if (!hOut.HasGrad && !cOut.HasGrad) return;
                var gateGrads = tape.Scratch(batch * 4 * hidden);
                Ops.LstmCell.Backward(GradIfRequired(x), GradIfRequired(h), GradIfRequired(c), GradIfRequired(wIh),
                    GradIfRequired(wHh), GradIfRequired(bIh), GradIfRequired(bHh), hOut.GradOrEmpty, cOut.GradOrEmpty,
                    gates.ReadOnlySpan, cOut.ReadOnlySpan, x.ReadOnlySpan, h.ReadOnlySpan, c.ReadOnlySpan,
                    wIh.ReadOnlySpan, wHh.ReadOnlySpan, gateGrads.Span, batch, inF, hidden);
            });
        return (hOut, cOut);

        static void CheckBias(Tensor? bias, int hidden)
        {
            if (bias is not null && bias.Length != 4 * hidden)
                throw new ArgumentException(
                    $"LstmCell: bias ({bias.Name}) has {bias.Length} values, expected 4H = {4 * hidden}.");
        }
        static ReadOnlySpan<float> Values(Tensor? t) => t is null ? default : t.ReadOnlySpan;
        static Span<float> GradIfRequired(Tensor? t) => t is not null && t.RequiresGrad ? t.Grad : default;
    }
}
