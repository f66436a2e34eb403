namespace SoftPrompt.Engine.Kernels;

/// <summary>
/// A frozen weight W [rows, cols] held in bfloat16 (<see cref="Tensor.StoreAsBf16"/>): in file order until the
/// bfloat16 kernels first multiply by it, from then on only as the operand they read for x·Wᵀ (the forward product).
/// The operand for dy·W (the input gradient) is rebuilt from it for each backward product, into one buffer per thread:
/// a pass over the weight (about 2 % of a GPT-2 prompt-tuning step) instead of a second copy of every weight, so
/// training holds the weights in 2 bytes a value as inference does. Its values as float32 (<see cref="WidenTo"/>)
/// come from whichever form is held; all are exact.
/// </summary>
internal sealed class Bf16Weight
{
    [ThreadStatic] private static Bf16Panels? _inputGradientBuffer;

    private ushort[]? _fileOrder;
    private Bf16Panels? _forward;
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

    /// <summary>W packed as the right operand of dy·W: op(B)(p, j) = W[p, j], in the calling thread's buffer — valid
    /// until this thread asks any weight for it again.</summary>
    public Bf16Panels InputGradient => _inputGradientBuffer = Forward.TransposedForInputGradient(_inputGradientBuffer);

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
}
