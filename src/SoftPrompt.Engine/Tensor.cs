namespace SoftPrompt.Engine;

/// <summary>
/// A dense, contiguous float32 array with a shape. Activations are rented from a <see cref="Tape"/>'s pool and go back
/// to it when the tape is reset; parameters own their storage. A view (see <see cref="Reshape"/>, <see cref="Rows"/>)
/// shares both the data and the gradient of the tensor it was taken from, so reshaping needs no backward step.
/// </summary>
public sealed class Tensor
{
    private float[] _data;
    private Kernels.Bf16Weight? _bf16; // a frozen weight held as bfloat16 (see StoreAsBf16); _data is empty then
    private Kernels.Bf16Weight? _bf16Copy; // a bfloat16 copy for products only, beside float32 _data
    private Kernels.Int8Weight? _int8; // a frozen weight held as int8 for inference (see HoldAsInt8); _data is empty
    private Kernels.Int8Weight? _int8Copy; // an int8 copy for products only, beside float32 _data
    private float[]? _grad;
    private readonly Tensor? _base; // set for views: storage and gradient live in the base tensor

    public int[] Shape { get; }
    public int Length { get; }
    public int Offset { get; }
    public string? Name { get; set; }

    /// <summary>True when a gradient must flow into this tensor during backward. A weight held in bfloat16 (or int8)
    /// is widened to float32 storage first: what trains is float32.</summary>
    public bool RequiresGrad
    {
        get => _requiresGrad;
        set
        {
            if (value && (_bf16 is not null || _int8 is not null)) WidenStorage();
            if (value) (_bf16Copy, _int8Copy) = (null, null); // their values are about to change
            _requiresGrad = value;
        }
    }
    private bool _requiresGrad;

    /// <summary>Parameters keep their gradient buffer between steps; activation gradients are pooled.</summary>
    public bool IsParameter { get; }

    internal Tape? Owner { get; }

    internal Tensor(float[] data, int offset, int[] shape, bool requiresGrad, bool isParameter, Tape? owner,
        Tensor? baseTensor)
    {
        int length = ShapeLength(shape);
        if (offset < 0 || offset + length > data.Length)
            throw new ArgumentException(
                $"A tensor of shape [{string.Join(", ", shape)}] at offset {offset} does not fit in {data.Length} " +
                $"floats.");
        _data = data;
        Offset = offset;
        Shape = shape;
        Length = length;
        RequiresGrad = requiresGrad;
        IsParameter = isParameter;
        Owner = owner;
        _base = baseTensor;
    }

    /// <summary>A tensor that owns its storage (weights, prompts, constants).</summary>
    public static Tensor Parameter(int[] shape, bool trainable, string? name = null)
        => new(new float[ShapeLength(shape)], 0, (int[])shape.Clone(), trainable, isParameter: true, owner: null,
            baseTensor: null) { Name = name };

    /// <summary>A tensor that takes ownership of <paramref name="data"/> (no copy).</summary>
    public static Tensor FromArray(float[] data, int[] shape, bool trainable = false, string? name = null)
    {
        if (ShapeLength(shape) != data.Length)
            throw new ArgumentException($"{data.Length} values cannot fill shape [{string.Join(", ", shape)}].");
        return new Tensor(data, 0, (int[])shape.Clone(), trainable, isParameter: true, owner: null,
            baseTensor: null) { Name = name };
    }

    /// <summary>A frozen, non-owning view of existing storage (caches, memory kept elsewhere).</summary>
    public static Tensor Wrap(float[] data, int offset, int[] shape)
        => new(data, offset, shape, requiresGrad: false, isParameter: true, owner: null, baseTensor: null);

    public static int ShapeLength(ReadOnlySpan<int> shape)
    {
        long n = 1;
        foreach (int d in shape)
        {
            if (d < 0) throw new ArgumentException($"Negative dimension {d} in shape.");
            n *= d;
            if (n > Array.MaxLength)
                throw new ArgumentException(
                    $"Shape [{string.Join(", ", shape.ToArray())}] has more elements than an array can hold.");
        }
        return (int)n;
    }

    public int Rank => Shape.Length;
    public int Dim(int axis) => Shape[axis < 0 ? Shape.Length + axis : axis];

    /// <summary>The last dimension; the width that row-wise ops (norms, softmax) work over.</summary>
    public int Cols => Shape.Length == 0 ? 1 : Shape[^1];
    /// <summary>Everything but the last dimension, flattened.</summary>
    public int Rows => Shape.Length == 0 ? 1 : Length / Math.Max(1, Shape[^1]);

    public float[] RawData => _base?.RawData ?? (_bf16 is null && _int8 is null ? _data
        : throw new InvalidOperationException(
            $"{Name ?? "This tensor"} is a frozen weight held in {(_bf16 is null ? "int8" : "bfloat16")}; read it " +
            $"through {nameof(IsWidenedToRead)}/{nameof(WidenTo)}."));

    /// <summary>Whether this frozen weight is held as bfloat16 (half the memory); ops that read weights widen it as
    /// they go (<see cref="WidenTo"/>), everything else must not touch <see cref="RawData"/>.</summary>
    public bool IsBf16 => _base is null ? _bf16 is not null : _base.IsBf16;

    /// <summary>Whether this frozen weight is held as int8 (<see cref="HoldAsInt8"/>).</summary>
    public bool IsInt8 => _base is null ? _int8 is not null : _base.IsInt8;

    /// <summary>Whether reading this tensor's values takes <see cref="WidenTo"/> (held in bfloat16 or int8).</summary>
    public bool IsWidenedToRead => IsBf16 || IsInt8;

    /// <summary>Holds this frozen parameter as the given bfloat16 values from now on (taking the array, not copying it:
    /// a big checkpoint must not pass through two copies), dropping its float32 storage.</summary>
    public void StoreAsBf16(ushort[] values)
    {
        if (!IsParameter || _base is not null || RequiresGrad)
            throw new InvalidOperationException(
                $"Only a frozen parameter that is not a view can be held in bfloat16 ({Name}).");
        if (values.Length != Length)
            throw new ArgumentException(
                $"{values.Length} bfloat16 values cannot fill {Name} [{string.Join(", ", Shape)}].");
        _bf16 = new Kernels.Bf16Weight(values, Rank == 2 ? Shape[0] : 1, Rank == 2 ? Shape[1] : Length);
        _data = Array.Empty<float>();
    }

    /// <summary>The values as float32 (exact: every bfloat16 is a float32), whichever way they are held.</summary>
    public void WidenTo(Span<float> destination)
    {
        if (destination.Length != Length)
            throw new ArgumentException($"{Name}: {Length} values do not fit {destination.Length}.");
        var root = _base ?? this;
        if (root._bf16 is { } half) half.WidenTo(Offset - root.Offset, destination);
        else if (root._int8 is { } quantized) quantized.WidenTo(Offset - root.Offset, destination);
        else ReadOnlySpan.CopyTo(destination);
    }

    private void WidenStorage()
    {
        var wide = new float[Length];
        WidenTo(wide);
        _data = wide;
        (_bf16, _int8) = (null, null);
    }

    /// <summary>This bfloat16 weight W [out, in] packed for <see cref="Kernels.Bf16Gemm"/> as the right operand of
    /// x·Wᵀ (the forward product) or of dy·W (the input gradient); see <see cref="Kernels.Bf16Weight"/>. Null unless
    /// this is a 2-D weight held in bfloat16 (not a view of one).</summary>
    internal Kernels.Bf16Panels? Bf16Operand(bool forInputGradient) =>
        (_bf16 ?? _bf16Copy) is not { } half || _base is not null || Rank != 2 ? null
            : forInputGradient ? half.InputGradient : half.Forward;

    /// <summary>
    /// Holds this frozen 2-D parameter as the given bfloat16 values from now on: W [rows, cols] in row-major order,
    /// or stored transposed ([cols, rows], GPT-2's Conv1D). Where the bfloat16 kernels run, the values go straight
    /// into their layout (no copy of <paramref name="values"/> is kept, so a loader can reuse one buffer for every
    /// matrix); elsewhere they are copied as <see cref="StoreAsBf16(ushort[])"/> holds them.
    /// </summary>
    public void StoreAsBf16(ReadOnlySpan<ushort> values, bool storedTransposed)
    {
        CheckCanHoldBf16(values.Length);
        int rows = Shape[0], cols = Shape[1];
        if (Kernels.Bf16MicroKernels.IsSupported)
        {
            var forward = storedTransposed
                ? Kernels.Bf16Panels.Pack(values, k: cols, n: rows, kStride: rows, nStride: 1)
                : Kernels.Bf16Panels.Pack(values, k: cols, n: rows, kStride: 1, nStride: cols);
            _bf16 = new Kernels.Bf16Weight(forward);
            _data = Array.Empty<float>();
            return;
        }
        var half = new ushort[Length];
        if (!storedTransposed) values.CopyTo(half);
        else
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < cols; c++) half[r * cols + c] = values[c * rows + r];
        StoreAsBf16(half);
    }

    /// <summary>Rounds this frozen float32 matrix to bfloat16 (nearest, ties to even) and holds it so from now on
    /// (<see cref="StoreAsBf16(ReadOnlySpan{ushort}, bool)"/>), a row at a time.</summary>
    public void HoldAsBf16()
    {
        CheckCanHoldBf16(Length);
        if (Kernels.Bf16MicroKernels.IsSupported)
        {
            _bf16 = new Kernels.Bf16Weight(RoundedRows());
            _data = Array.Empty<float>();
            return;
        }
        var half = new ushort[Length];
        IO.ReducedPrecision.SingleToBf16(ReadOnlySpan, half);
        StoreAsBf16(half);
    }

    /// <summary>
    /// Keeps this frozen float32 matrix as it is and, beside it, a bfloat16 copy that products through it use (the
    /// bfloat16 kernels): for an LM head tied to the token embeddings, whose lookups (and the prompts initialised
    /// from them) stay float32. The copy is of the values now; making the tensor trainable drops it. Nothing to do
    /// where the kernels do not run.
    /// </summary>
    public void HoldBf16CopyForProducts()
    {
        CheckCanHoldBf16(Length);
        // held in bfloat16 already, or copied (in int8 too) since it was last made frozen (training drops copies)
        if (_bf16 is not null || _bf16Copy is not null || _int8Copy is not null
            || !Kernels.Bf16MicroKernels.IsSupported) return;
        _bf16Copy = new Kernels.Bf16Weight(RoundedRows());
    }

    /// <summary>This int8 weight W [out, in] (held so, or the copy for products) for <see cref="Kernels.Int8Gemm"/>:
    /// null unless this is a 2-D weight held in int8 (not a view of one).</summary>
    internal Kernels.Int8Weight? Int8Operand => _base is not null || Rank != 2 ? null : _int8 ?? _int8Copy;

    /// <summary>
    /// Quantizes this frozen 2-D weight to int8 with a scale per row (<see cref="Kernels.Int8Weight"/>) and holds it so
    /// from now on, dropping its float32 or bfloat16 storage: for inference (generation, serving, evaluation), a
    /// quarter of float32's memory. Values read back (<see cref="WidenTo"/>) are the dequantized ones, and making the
    /// tensor trainable widens them to float32.
    /// </summary>
    public void HoldAsInt8()
    {
        CheckCanHoldReduced("int8");
        if (_int8 is not null) return;
        _int8 = QuantizedRows();
        (_data, _bf16, _bf16Copy, _int8Copy) = (Array.Empty<float>(), null, null, null);
    }

    /// <summary>Keeps this frozen float32 matrix as it is and, beside it, an int8 copy that products through it use:
    /// for an LM head tied to the token embeddings, whose lookups stay float32. Replaces a bfloat16 copy.</summary>
    public void HoldInt8CopyForProducts()
    {
        CheckCanHoldReduced("int8");
        if (_int8 is not null || _int8Copy is not null) return;
        _int8Copy = QuantizedRows();
        _bf16Copy = null;
    }

    private Kernels.Int8Weight QuantizedRows()
    {
        int rows = Shape[0], cols = Shape[1];
        if (_bf16 is { } half)
            return Kernels.Int8Weight.Quantize(rows, cols, (row, into) => half.WidenTo(row * cols, into));
        var data = _data;
        int offset = Offset;
        return Kernels.Int8Weight.Quantize(rows, cols,
            (row, into) => data.AsSpan(offset + row * cols, cols).CopyTo(into));
    }

    // This float32 matrix W [rows, cols] rounded to bfloat16 row by row straight into the kernels' x·Wᵀ layout.
    private Kernels.Bf16Panels RoundedRows()
    {
        var data = _data;
        int offset = Offset, cols = Shape[1];
        return Kernels.Bf16Panels.PackRows(cols, Shape[0],
            (row, half) => IO.ReducedPrecision.SingleToBf16(data.AsSpan(offset + row * cols, cols), half));
    }

    private void CheckCanHoldReduced(string format)
    {
        if (!IsParameter || _base is not null || RequiresGrad || Rank != 2)
            throw new InvalidOperationException(
                $"Only a frozen 2-D parameter that is not a view can be held in {format} ({Name}).");
    }

    private void CheckCanHoldBf16(int values)
    {
        CheckCanHoldReduced("bfloat16");
        if (_int8 is not null)
            throw new InvalidOperationException($"{Name} is held in int8 already; it cannot be held in bfloat16 too.");
        if (values != Length)
            throw new ArgumentException(
                $"{values} bfloat16 values cannot fill {Name} [{string.Join(", ", Shape)}].");
    }

    public Span<float> Span => RawData.AsSpan(Offset, Length);
    public ReadOnlySpan<float> ReadOnlySpan => RawData.AsSpan(Offset, Length);

    public bool HasGrad => _base is not null ? _base.HasGrad : _grad is not null;

    /// <summary>The gradient, allocated (zeroed) on first use. Backward steps accumulate into it.</summary>
    public Span<float> Grad
    {
        get
        {
            if (_base is not null) return _base.Grad.Slice(Offset - _base.Offset, Length);
            _grad ??= Owner is not null && !IsParameter ? Owner.RentGrad(Length) : new float[Length];
            return _grad.AsSpan(0, Length);
        }
    }

    /// <summary>The gradient if one has been allocated, else an empty span (callers skip work on empty).</summary>
    public Span<float> GradOrEmpty => HasGrad ? Grad : Span<float>.Empty;

    public void ZeroGrad()
    {
        if (_base is not null) { if (_base.HasGrad) Grad.Clear(); return; }
        _grad?.AsSpan().Clear();
    }

    internal float[]? GradArray => _grad;

    /// <summary>A view with a new shape over the same data and gradient.</summary>
    public Tensor Reshape(params int[] shape)
    {
        int infer = Array.IndexOf(shape, -1);
        if (infer >= 0)
        {
            int known = 1;
            for (int i = 0; i < shape.Length; i++) if (i != infer) known *= shape[i];
            shape = (int[])shape.Clone();
            shape[infer] = known == 0 ? 0 : Length / known;
        }
        if (ShapeLength(shape) != Length)
            throw new ArgumentException(
                $"Cannot view a tensor of shape [{string.Join(", ", Shape)}] as [{string.Join(", ", shape)}].");
        return new Tensor(RawData, Offset, shape, RequiresGrad, IsParameter, Owner, Root) { Name = Name };
    }

    private Tensor Root => _base ?? this;

    public float this[int i]
    {
        get => RawData[Offset + i];
        set => RawData[Offset + i] = value;
    }

    public float[] ToArray() => Span.ToArray();

    public override string ToString() =>
        $"Tensor{(Name is null ? "" : " " + Name)} " +
            $"[{string.Join(", ", Shape)}]{(RequiresGrad ? " requires_grad" : "")}";

    /// <summary>Returns an activation's gradient to its tape's pool mid-step (see
    /// <see cref="Tape.ReleaseGradientsEagerly"/>).</summary>
    internal void ReleaseGrad(Tape tape)
    {
        if (_base is not null || IsParameter || _grad is null || Owner != tape) return;
        tape.Return(_grad);
        _grad = null;
    }

    /// <summary>Whether this tensor and <paramref name="other"/> are views of one array.</summary>
    internal bool SharesStorageWith(Tensor other) => ReferenceEquals(Root, other.Root);

    internal void ReleaseTo(Tape tape)
    {
        if (_base is not null || IsParameter) return;
        tape.Return(_data);
        if (_grad is not null) tape.Return(_grad);
        _data = Array.Empty<float>();
        _grad = null;
    }
}
