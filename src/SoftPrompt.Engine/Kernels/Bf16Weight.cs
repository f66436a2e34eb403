namespace SoftPrompt.Engine.Kernels;

/// <summary>
/// A frozen weight W [rows, cols] held in bfloat16 (<see cref="Tensor.StoreAsBf16"/>): in file order until the
/// bfloat16 kernels first multiply by it, from then on only as the operand they read for x·Wᵀ (the forward product):
/// 2 bytes a value. The operand for dy·W (the input gradient) is built from that one when a backward pass first asks
/// and kept, while all weights' kept input-gradient operands stay under <see cref="InputGradientBudgetBytes"/>; past
/// it, a weight's is rebuilt for each backward product into one buffer per thread (a pass over the weight, about
/// 1 ns a value), so a big model trains in about 2 bytes a value and a small one at full speed. Its values as float32
/// (<see cref="WidenTo"/>) come from whichever form is held; all are exact.
/// </summary>
internal sealed class Bf16Weight
{
    /// <summary>Bytes of input-gradient operands kept across all weights: GPT-2 small's all fit (247 MB), a 1B model's
    /// do not, so its training stays near 2 bytes a value. Tests lower it to reach the rebuilt-per-product
    /// path.</summary>
    public static long InputGradientBudgetBytes { get; set; } = 256L << 20;

    private static long _keptInputGradientBytes;
    [ThreadStatic] private static Bf16Panels? _inputGradientBuffer;

    private ushort[]? _fileOrder;
    private Bf16Panels? _forward, _inputGradient;
    private readonly int _rows, _cols;

    public Bf16Weight(ushort[] values, int rows, int cols)
    {
        if ((long)rows * cols != values.Length) throw new ArgumentException(
            $"{values.Length} bfloat16 values cannot fill [{rows}, {cols}].");
        _fileOrder = values;
        _rows = rows;
        _cols = cols;
    }

    /// <summary>A weight packed for x·Wᵀ already (loaded straight into the kernels' layout: no file-order copy is
    /// ever made).</summary>
    public Bf16Weight(Bf16Panels forward)
    {
        _forward = forward;
        _rows = forward.N;
        _cols = forward.K;
    }

    /// <summary>W packed as the right operand of x·Wᵀ: op(B)(p, j) = W[j, p].</summary>
    public Bf16Panels Forward
    {
        get
        {
            lock (this)
            {
                if (_forward is not null) return _forward;
                _forward = Bf16Panels.Pack(_fileOrder!, k: _cols, n: _rows, kStride: 1, nStride: _cols);
                _fileOrder = null; // every value is in the packed form now
                return _forward;
            }
        }
    }

    // A model let go gives its share of the budget back.
    ~Bf16Weight()
    {
        if (_inputGradient is not null) Interlocked.Add(ref _keptInputGradientBytes, -_inputGradient.Bytes);
    }

    /// <summary>W packed as the right operand of dy·W: op(B)(p, j) = W[p, j]. When it is not kept, it is in the
    /// calling thread's buffer: valid until this thread asks any weight for it again.</summary>
    public Bf16Panels InputGradient
    {
        get
        {
            var forward = Forward;
            lock (this)
            {
                if (_inputGradient is not null) return _inputGradient;
                if (Interlocked.Add(ref _keptInputGradientBytes, forward.Bytes) <= InputGradientBudgetBytes)
                    return _inputGradient = forward.TransposedForInputGradient(null);
                Interlocked.Add(ref _keptInputGradientBytes, -forward.Bytes);
            }
            return _inputGradientBuffer = forward.TransposedForInputGradient(_inputGradientBuffer);
        }
    }

    /// <summary>Values [start, start + destination.Length) in W's row-major order, as float32.</summary>
    public void WidenTo(int start, Span<float> destination)
    {
        lock (this)
        {
            if (_fileOrder is not null)
            {
                IO.ReducedPrecision.Bf16ToSingle(_fileOrder.AsSpan(start, destination.Length), destination);
                return;
            }
            if (start == 0 && destination.Length == _rows * _cols)
            {
                _forward!.WidenTransposedTo(destination); // the whole weight: in storage order
                return;
            }
            // Row by row from the packed operand (W's row r is its column r); a row cut by the range goes through a
            // row-sized buffer.
            float[]? partial = null;
            int done = 0, row = start / _cols, col = start % _cols;
            while (done < destination.Length)
            {
                int take = Math.Min(_cols - col, destination.Length - done);
                if (take == _cols) _forward!.WidenColumn(row, destination.Slice(done, _cols));
                else
                {
                    partial ??= System.Buffers.ArrayPool<float>.Shared.Rent(_cols);
                    _forward!.WidenColumn(row, partial);
                    partial.AsSpan(col, take).CopyTo(destination.Slice(done, take));
                }
                done += take;
                row++;
                col = 0;
            }
            if (partial is not null) System.Buffers.ArrayPool<float>.Shared.Return(partial);
        }
    }
}
