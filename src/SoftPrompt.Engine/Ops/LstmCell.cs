using System.Numerics.Tensors;
using SoftPrompt.Engine.Kernels;

namespace SoftPrompt.Engine.Ops;

/// <summary>
/// One LSTM step with PyTorch nn.LSTMCell semantics and gate order (i, f, g, o):
/// gates = x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh; i, f, o = σ, g = tanh; c' = f⊙c + i⊙g; h' = o⊙tanh(c').
/// </summary>
public static class LstmCell
{
    // x is (B, In), h and c are (B, H), wIh is (4H, In), wHh is (4H, H), bIh and bHh are (4H) or empty.
    // hOut, cOut are (B, H); gates (B, 4H) receives the activated gates [i | f | g | o] that Backward needs.
    public static void Forward(Span<float> hOut, Span<float> cOut, Span<float> gates,
        ReadOnlySpan<float> x, ReadOnlySpan<float> h, ReadOnlySpan<float> c, ReadOnlySpan<float> wIh,
        ReadOnlySpan<float> wHh,
        ReadOnlySpan<float> bIh, ReadOnlySpan<float> bHh, int batch, int inF, int hidden)
    {
        int g4 = 4 * hidden;
        Sgemm.Multiply(false, true, batch, g4, inF, x, wIh, gates, accumulate: false);
        Sgemm.Multiply(false, true, batch, g4, hidden, h, wHh, gates, accumulate: true);
        for (int b = 0; b < batch; b++)
        {
            var row = gates.Slice(b * g4, g4);
            if (!bIh.IsEmpty) TensorPrimitives.Add(row, bIh, row);
            if (!bHh.IsEmpty) TensorPrimitives.Add(row, bHh, row);
            var inputAndForget = row.Slice(0, 2 * hidden);
            var cell = row.Slice(2 * hidden, hidden);
            var output = row.Slice(3 * hidden, hidden);
            TensorPrimitives.Sigmoid(inputAndForget, inputAndForget);
            TensorPrimitives.Tanh(cell, cell);
            TensorPrimitives.Sigmoid(output, output);

            var cNew = cOut.Slice(b * hidden, hidden);
            var hNew = hOut.Slice(b * hidden, hidden);
            TensorPrimitives.Multiply(row.Slice(hidden, hidden), c.Slice(b * hidden, hidden), cNew);
            TensorPrimitives.MultiplyAdd(row.Slice(0, hidden), cell, cNew, cNew);
            TensorPrimitives.Tanh(cNew, hNew);
            TensorPrimitives.Multiply(hNew, output, hNew);
        }
    }

    // Accumulates into every non-empty gradient span. dhOut or dcOut may be empty (that output got no gradient).
    // gates and cOut are Forward's outputs; gateGrads is (B, 4H) scratch.
    public static void Backward(Span<float> dx, Span<float> dh, Span<float> dc, Span<float> dwIh, Span<float> dwHh,
        Span<float> dbIh, Span<float> dbHh, ReadOnlySpan<float> dhOut, ReadOnlySpan<float> dcOut,
        ReadOnlySpan<float> gates, ReadOnlySpan<float> cOut, ReadOnlySpan<float> x, ReadOnlySpan<float> h,
        ReadOnlySpan<float> c,
        ReadOnlySpan<float> wIh, ReadOnlySpan<float> wHh, Span<float> gateGrads, int batch, int inF, int hidden)
    {
        int g4 = 4 * hidden;
        for (int b = 0; b < batch; b++)
        {
            var gate = gates.Slice(b * g4, g4);
            var dGate = gateGrads.Slice(b * g4, g4);
            for (int j = 0; j < hidden; j++)
            {
                int n = b * hidden + j;
                float i = gate[j], f = gate[hidden + j], g = gate[2 * hidden + j], o = gate[3 * hidden + j];
                float tanhC = MathF.Tanh(cOut[n]);
                float dhNew = dhOut.IsEmpty ? 0f : dhOut[n];
                float dcNew = (dcOut.IsEmpty ? 0f : dcOut[n]) + dhNew * o * (1f - tanhC * tanhC);
                dGate[j] = dcNew * g * i * (1f - i);
                dGate[hidden + j] = dcNew * c[n] * f * (1f - f);
                dGate[2 * hidden + j] = dcNew * i * (1f - g * g);
                dGate[3 * hidden + j] = dhNew * tanhC * o * (1f - o);
                if (!dc.IsEmpty) dc[n] += dcNew * f;
            }
        }
        ReadOnlySpan<float> dGates = gateGrads.Slice(0, batch * g4);
        // dx (B,In) += dGates (B,4H)·W_ih (4H,In);  dh (B,H) += dGates·W_hh (4H,H)
        // dW_ih (4H,In) += dGatesᵀ (4H,B)·x (B,In);  dW_hh (4H,H) += dGatesᵀ·h (B,H)
        if (!dx.IsEmpty) Sgemm.Multiply(false, false, batch, inF, g4, dGates, wIh, dx, accumulate: true);
        if (!dh.IsEmpty) Sgemm.Multiply(false, false, batch, hidden, g4, dGates, wHh, dh, accumulate: true);
        if (!dwIh.IsEmpty) Sgemm.Multiply(true, false, g4, inF, batch, dGates, x, dwIh, accumulate: true);
        if (!dwHh.IsEmpty) Sgemm.Multiply(true, false, g4, hidden, batch, dGates, h, dwHh, accumulate: true);
        for (int b = 0; b < batch; b++)
        {
            var row = dGates.Slice(b * g4, g4);
            if (!dbIh.IsEmpty) TensorPrimitives.Add(dbIh, row, dbIh);
            if (!dbHh.IsEmpty) TensorPrimitives.Add(dbHh, row, dbHh);
        }
    }
}
