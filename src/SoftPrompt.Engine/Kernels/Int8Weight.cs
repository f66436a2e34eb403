namespace SoftPrompt.Engine.Kernels;

/// <summary>
/// A frozen weight W [rows = outputs, cols = inputs] held as 8-bit integers with one float32 scale per row
/// (symmetric, round to nearest: W[j, k] ≈ scale[j]·q[j, k], |q| ≤ 127), for inference: a quarter of float32's
/// bytes, half of bfloat16's. Decoding one token reads every weight once, so its time follows the bytes read.
/// <para>Each row's values are laid out contiguously and padded with zeros to a multiple of <see cref="KStep"/>
/// (the bytes one 256-bit VNNI instruction reads), and the rows to a multiple of <see cref="RowStep"/>, so the
/// kernels of <see cref="Int8Gemm"/> never test for edges inside a row. <see cref="RowSums"/> holds Σₖ q[j, k]: the
/// activations are quantized to unsigned bytes with an offset of 128 (VNNI multiplies unsigned by signed bytes), and
/// 128·RowSums[j] takes the offset back out.</para>
/// </summary>
internal sealed class Int8Weight
{
    /// <summary>Bytes of a row one VNNI step reads (a 256-bit register).</summary>
    public const int KStep = 32;

    /// <summary>Rows are padded to a multiple of this (the kernels' column tiles: 3 and 8 outputs).</summary>
    public const int RowStep = 24;

    public int Rows { get; }
    public int Cols { get; }
    public int PaddedRows { get; }
    public int PaddedCols { get; }
    public sbyte[] Values { get; }
    public float[] Scales { get; }
    public int[] RowSums { get; }

    public long Bytes => Values.LongLength + 4L * (Scales.Length + RowSums.Length);

    private Int8Weight(int rows, int cols)
    {
        Rows = rows;
        Cols = cols;
        PaddedRows = (rows + RowStep - 1) / RowStep * RowStep;
        PaddedCols = Math.Max(KStep, (cols + KStep - 1) / KStep * KStep);
        Values = new sbyte[(long)PaddedRows * PaddedCols];
        Scales = new float[PaddedRows];
        RowSums = new int[PaddedRows];
    }

    /// <summary>Quantizes W row by row: <paramref name="readRow"/>(j, buffer) fills row j's float32 values (a row at a
    /// time, so a weight held in bfloat16 never needs a whole float32 copy).</summary>
    public static Int8Weight Quantize(int rows, int cols, Action<int, Span<float>> readRow)
    {
        if (rows <= 0 || cols <= 0) throw new ArgumentException($"Cannot quantize a [{rows}, {cols}] weight.");
        var weight = new Int8Weight(rows, cols);
        var row = new float[cols];
        for (int j = 0; j < rows; j++)
        {
            readRow(j, row);
            float largest = System.Numerics.Tensors.TensorPrimitives.MaxMagnitude(row);
            if (!float.IsFinite(largest))
                throw new ArgumentException($"Row {j} of a [{rows}, {cols}] weight has a value that is not finite.");
            float scale = ScaleFor(Math.Abs(largest));
            var q = weight.Values.AsSpan(j * weight.PaddedCols, cols);
            int sum = 0;
            for (int k = 0; k < cols; k++)
            {
                q[k] = (sbyte)Rounded(row[k] / scale);
                sum += q[k];
            }
            weight.Scales[j] = scale;
            weight.RowSums[j] = sum;
        }
        return weight;
    }

    /// <summary>The symmetric scale for values of at most <paramref name="largest"/> in magnitude: one step of 8 bits
    /// (1 for an all-zero row, or one that is not finite, whose steps are then all clamped).</summary>
    internal static float ScaleFor(float largest) => largest > 0 && float.IsFinite(largest) ? largest / 127f : 1f;

    /// <summary>A value already divided by its scale, rounded to nearest (ties to even) within ±127.</summary>
    internal static int Rounded(float scaled) =>
        Math.Clamp((int)MathF.Round(scaled, MidpointRounding.ToEven), -127, 127);

    /// <summary>The dequantized values scale[j]·q[j, k] of the elements [offset, offset + destination.Length) in
    /// row-major order: what a product that cannot use the int8 kernels (or a gradient through this weight)
    /// reads.</summary>
    public void WidenTo(long offset, Span<float> destination)
    {
        int done = 0;
        while (done < destination.Length)
        {
            long e = offset + done;
            int j = (int)(e / Cols), k = (int)(e % Cols), count = Math.Min(Cols - k, destination.Length - done);
            var q = Values.AsSpan((int)((long)j * PaddedCols + k), count);
            var into = destination.Slice(done, count);
            for (int i = 0; i < count; i++) into[i] = q[i];
            System.Numerics.Tensors.TensorPrimitives.Multiply(into, Scales[j], into);
            done += count;
        }
    }
}
