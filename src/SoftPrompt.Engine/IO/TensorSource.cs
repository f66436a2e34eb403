namespace SoftPrompt.Engine.IO;

/// <summary>Element types of the safetensors format, named as in its headers.</summary>
public enum SafeTensorsDType { BOOL, U8, I8, F8_E5M2, F8_E4M3, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64 }

public static class SafeTensorsDTypes
{
    public static int SizeOf(this SafeTensorsDType dtype) => dtype switch
    {
        SafeTensorsDType.BOOL or SafeTensorsDType.U8 or SafeTensorsDType.I8
            or SafeTensorsDType.F8_E5M2 or SafeTensorsDType.F8_E4M3 => 1,
        SafeTensorsDType.I16 or SafeTensorsDType.U16 or SafeTensorsDType.F16 or SafeTensorsDType.BF16 => 2,
        SafeTensorsDType.I32 or SafeTensorsDType.U32 or SafeTensorsDType.F32 => 4,
        SafeTensorsDType.F64 or SafeTensorsDType.I64 or SafeTensorsDType.U64 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Not a safetensors dtype."),
    };

    /// <summary>True for the types <see cref="ITensorSource.ReadFloat32(string, int[])"/> can convert.</summary>
    public static bool IsReadableAsFloat32(this SafeTensorsDType dtype)
        => dtype is SafeTensorsDType.F32 or SafeTensorsDType.F16 or SafeTensorsDType.BF16 or SafeTensorsDType.F64;

    /// <summary>Exact, case-sensitive match against the header spelling ("F32", "BF16", ...).</summary>
    public static bool TryParse(string text, out SafeTensorsDType dtype)
    {
        foreach (var candidate in Enum.GetValues<SafeTensorsDType>())
        {
            if (candidate.ToString() == text) { dtype = candidate; return true; }
        }
        dtype = default;
        return false;
    }
}

/// <summary>Where one tensor lives: <see cref="Begin"/> and <see cref="End"/> are byte offsets into the data
/// buffer.</summary>
public sealed record TensorInfo(string Name, SafeTensorsDType DType, int[] Shape, long Begin, long End)
{
    public long ByteLength => End - Begin;
    public long ElementCount => ByteLength / DType.SizeOf();
}

/// <summary>Named tensors that can be read one at a time: a single safetensors file or a sharded checkpoint.</summary>
public interface ITensorSource
{
    /// <summary>The file the tensors come from (for a sharded checkpoint, its index file).</summary>
    string SourcePath { get; }
    IReadOnlyDictionary<string, string> Metadata { get; }
    IReadOnlyCollection<string> Names { get; }
    bool Contains(string name);
    TensorInfo Info(string name);

    /// <summary>Reads a tensor as float32, converting from F16, BF16 or F64; checks the shape when one is
    /// expected.</summary>
    float[] ReadFloat32(string name, int[]? expectedShape = null);

    /// <summary>As <see cref="ReadFloat32(string, int[])"/>, into existing storage of exactly the tensor's
    /// length.</summary>
    void ReadFloat32(string name, Span<float> destination, int[]? expectedShape = null);

    /// <summary>A BF16 tensor's stored values as they are (no conversion), into storage of exactly its
    /// length.</summary>
    void ReadBf16(string name, Span<ushort> destination, int[]? expectedShape = null);
}

/// <summary>Wording shared by every tensor source, so errors read the same whichever file they come from.</summary>
internal static class TensorSourceMessages
{
    private const int MaxQuotedLength = 200;

    /// <summary>Names come from untrusted files; a megabyte-long one must not end up in a message whole.</summary>
    public static string Quote(string name)
        => name.Length <= MaxQuotedLength ? $"'{name}'" : $"'{name[..MaxQuotedLength]}…' ({name.Length} characters)";

    public static string Shape(ReadOnlySpan<int> shape) => $"[{string.Join(", ", shape.ToArray())}]";

    /// <summary>Suggests the present names that share the longest prefix with the missing one (typos, wrong
    /// prefixes).</summary>
    public static string NotFound(string name, IReadOnlyCollection<string> present, string holder = "the file")
    {
        if (present.Count == 0) return $"there is no tensor {Quote(name)}: {holder} holds no tensors.";
        var nearest = present
            .Select((candidate, order) => (candidate, order, shared: CommonPrefixLength(candidate, name)))
            .OrderByDescending(c => c.shared).ThenBy(c => c.order)
            .Take(5).Select(c => Quote(c.candidate));
        return $"there is no tensor {Quote(name)}; {holder} holds {present.Count} tensors, e.g. " +
            $"{string.Join(", ", nearest)}.";
    }

    public static void CheckShape(string path, TensorInfo info, int[]? expected)
    {
        if (expected is null || expected.AsSpan().SequenceEqual(info.Shape)) return;
        throw new ModelFormatException(path,
            $"tensor {Quote(info.Name)} has shape {Shape(info.Shape)}, expected {Shape(expected)}.");
    }

    private static int CommonPrefixLength(string a, string b)
    {
        int n = Math.Min(a.Length, b.Length), i = 0;
        while (i < n && a[i] == b[i]) i++;
        return i;
    }
}
