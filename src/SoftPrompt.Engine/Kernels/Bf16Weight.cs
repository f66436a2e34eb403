namespace SoftPrompt.Engine.Kernels;

/// <summary>
/// A frozen weight W [rows, cols] held in bfloat16 (<see cref="Tensor.StoreAsBf16"/>): in file order until the
/// bfloat16 kernels first multiply by it, from then on only as the operands they read — W packed for x·Wᵀ (the
/// forward product) and, once a backward pass asks, for dy·W (the input gradient). So an inference pass holds it in
/// 2 bytes a value and a training pass in 4 (as float32 storage would, without float32's per-product copy). Its
/// values as float32 (<see cref="WidenTo"/>) come from whichever form is held; all are exact.
/// </summary>
internal sealed class Bf16Weight
{
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

    /// <summary>W packed as the right operand of dy·W: op(B)(p, j) = W[p, j].</summary>
    public Bf16Panels InputGradient
    {
        get
        {
            lock (this)
            {
                if (_inputGradient is not null) return _inputGradient;
                var fileOrder = _fileOrder ?? FileOrderFrom(_forward!);
                return _inputGradient = Bf16Panels.Pack(fileOrder, k: _rows, n: _cols, kStride: _cols, nStride: 1);
            }
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
            for (int i = 0; i < destination.Length; i++)
            {
                int row = (start + i) / _cols, col = (start + i) % _cols;
                destination[i] = _forward![col, row];
            }
        }
    }

    // W in row-major bfloat16 again, read back from the forward pack (for the second pack: once per weight).
    private ushort[] FileOrderFrom(Bf16Panels forward)
    {
        var values = new ushort[(long)_rows * _cols];
        for (int row = 0; row < _rows; row++)
            for (int col = 0; col < _cols; col++)
                values[row * _cols + col] = (ushort)(BitConverter.SingleToUInt32Bits(forward[col, row]) >> 16);
        return values;
    }
}
