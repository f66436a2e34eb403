using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using SoftPrompt.Engine;
using SoftPrompt.Engine.IO;
using SoftPrompt.Tests.Support;
using Xunit;

namespace SoftPrompt.Tests.Formats;

public class SafeTensorsRoundTripTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    public void Dispose() => _dir.Dispose();

    private static float[] RandomValues(int seed, int count, float scale = 3f)
    {
        var rng = new Random(seed);
        var values = new float[count];
        for (int i = 0; i < count; i++) values[i] = (float)((rng.NextDouble() * 2 - 1) * scale);
        return values;
    }

    private static (string, int[], ReadOnlyMemory<float>) T(string name, int[] shape, float[] data) =>
        (name, shape, data);

    [Fact]
    public void F32_round_trip_keeps_values_shapes_order_and_metadata_exactly()
    {
        string path = _dir.File("model.safetensors");
        var a = RandomValues(1, 6);
        var b = new[] { float.NegativeInfinity, -0f, float.Epsilon, 1e30f };
        var scalar = new[] { 42.5f };
        var metadata = new Dictionary<string, string> { ["format"] = "pt", ["note"] = "ünïcödé ▁ text" };
        SafeTensorsWriter.Write(path, [T("layer.a", [2, 3], a), T("b", [4], b), T("scalar", [], scalar),
            T("empty", [0, 5], [])],
            SafeTensorsDType.F32, metadata);

        var file = SafeTensorsFile.Open(path);
        Assert.Equal(["layer.a", "b", "scalar", "empty"], file.Names);
        Assert.Equal(metadata, file.Metadata);
        Assert.Equal(a, file.ReadFloat32("layer.a", [2, 3]));
        Assert.Equal(b, file.ReadFloat32("b"));
        Assert.Equal(scalar, file.ReadFloat32("scalar", []));
        Assert.Empty(file.ReadFloat32("empty", [0, 5]));
        var info = file.Info("layer.a");
        Assert.Equal(SafeTensorsDType.F32, info.DType);
        Assert.Equal([2, 3], info.Shape);
        Assert.Equal(24, info.ByteLength);
        Assert.True(file.Contains("b"));
        Assert.False(file.Contains("c"));
        Assert.Equal(BitConverter.SingleToInt32Bits(-0f), BitConverter.SingleToInt32Bits(file.ReadFloat32("b")[1]));
    }

    [Fact]
    public void F16_round_trip_rounds_like_half_and_spans_several_read_chunks()
    {
        string path = _dir.File("half.safetensors");
        var special = new[] { 0f, -0f, 1f / 3, -2.5f, 65504f, 70000f, -1e6f, 1e-8f, 6e-5f, float.NaN };
        var large = RandomValues(2, 700_001, scale: 100f); // > one 1 MB chunk of halves, odd length for the tail
        SafeTensorsWriter.Write(path, [T("special", [special.Length], special), T("large", [700_001], large)],
            SafeTensorsDType.F16);

        var file = SafeTensorsFile.Open(path);
        Assert.Equal(SafeTensorsDType.F16, file.Info("special").DType);
        Assert.Equal(2L * special.Length, file.Info("special").ByteLength);
        var read = file.ReadFloat32("special");
        for (int i = 0; i < special.Length; i++) Assert.Equal((float)(Half)special[i], read[i]);
        Assert.Equal(float.PositiveInfinity, read[5]);
        var readLarge = file.ReadFloat32("large", [700_001]);
        for (int i = 0; i < large.Length; i++)
        {
            if ((float)(Half)large[i] != readLarge[i]) Assert.Fail(
                $"element {i}: {large[i]} read back as {readLarge[i]}, expected {(float)(Half)large[i]}");
        }
    }

    /// <summary>Independent reference: the nearer of the two bfloat16 neighbours in double precision, ties to
    /// even.</summary>
    private static float ReferenceBf16(float x)
    {
        if (float.IsNaN(x) || float.IsInfinity(x)) return x;
        uint bits = BitConverter.SingleToUInt32Bits(x);
        float down = BitConverter.UInt32BitsToSingle(bits & 0xFFFF0000u);
        uint upBits = (bits & 0xFFFF0000u) + 0x10000u;
        float up = BitConverter.UInt32BitsToSingle(upBits);
        double dDown = Math.Abs((double)x - down),
            dUp = Math.Abs((double)x - (float.IsInfinity(up) ? Math.CopySign(Math.Pow(2, 128), x) : up));
        if (dDown < dUp) return down;
        if (dUp < dDown) return up;
        return ((bits >> 16) & 1) == 0 ? down : up;
    }

    [Fact]
    public void Bf16_rounds_to_nearest_even()
    {
        string path = _dir.File("bf16.safetensors");
        float one = 1f, ulp = MathF.Pow(2, -7); // bf16 spacing just above 1
        var cases = new (float Value, float Expected)[]
        {
            (one, one),
            (one + ulp / 2, one),                                // tie, 1.0 is even
            (one + 3 * ulp / 2, one + 2 * ulp),                  // tie, rounds up to the even neighbour
            (one + ulp / 2 + MathF.Pow(2, -20), one + ulp),      // just above the tie
            (-(one + ulp / 2), -one),
            (float.MaxValue, float.PositiveInfinity),            // rounds past the largest bf16
            (float.NegativeInfinity, float.NegativeInfinity),
            (-0f, -0f),
            (float.Epsilon, 0f),
        };
        var random = RandomValues(3, 1001, scale: 1e4f); // vector body plus a scalar tail
        var values = cases.Select(c => c.Value).Append(float.NaN).Concat(random).ToArray();
        SafeTensorsWriter.Write(path, [T("x", [values.Length], values)], SafeTensorsDType.BF16);

        var read = SafeTensorsFile.Open(path).ReadFloat32("x");
        for (int i = 0; i < cases.Length; i++) Assert.Equal(cases[i].Expected, read[i]);
        Assert.True(float.IsNaN(read[cases.Length]));
        for (int i = cases.Length + 1; i < values.Length; i++) Assert.Equal(ReferenceBf16(values[i]), read[i]);
        Assert.Equal(ReferenceBf16(one + ulp / 2), read[1]);
    }

    [Fact]
    public void Header_is_strict_json_padded_to_8_bytes_with_contiguous_offsets()
    {
        string path = _dir.File("layout.safetensors");
        SafeTensorsWriter.Write(path, [T("w", [3, 2], RandomValues(4, 6)), T("b", [3], RandomValues(5, 3))],
            SafeTensorsDType.BF16,
            new Dictionary<string, string> { ["format"] = "pt" });
        byte[] bytes = File.ReadAllBytes(path);
        long headerLength = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(0, headerLength % 8);
        using var header = JsonDocument.Parse(bytes.AsMemory(8, (int)headerLength));
        Assert.Equal("pt", header.RootElement.GetProperty("__metadata__").GetProperty("format").GetString());
        var w = header.RootElement.GetProperty("w");
        Assert.Equal("BF16", w.GetProperty("dtype").GetString());
        Assert.Equal([0L, 12L], w.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()));
        Assert.Equal([12L, 18L], header.RootElement.GetProperty("b").GetProperty("data_offsets").EnumerateArray()
            .Select(e => e.GetInt64()));
        Assert.Equal(8 + headerLength + 18, bytes.Length);
    }

    [Fact]
    public void Reads_a_file_as_the_reference_writer_lays_it_out()
    {
        // The reference writer orders tensors by alignment, not by name, pads the header with spaces, and may mix
        // dtypes.
        string path = _dir.File("reference.safetensors");
        var data = new List<byte>();
        void Add<T>(T[] values) where T : unmanaged =>
            data.AddRange(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).ToArray());
        Add(new[] { 1.5, -2.25 });                                     // F64 [2] at 0..16
        Add(new[] { 7L });                                             // I64 [1] at 16..24
        Add(new[] { 0.5f, 4f, -8f });                                  // F32 [3] at 24..36
        Add(new[] { (Half)0.25f, (Half)(-3f) });                       // F16 [2,1] at 36..40
        Add(new ushort[] { 0x3F80, 0xC040 });                          // BF16 [2] = 1, -3 at 40..44
        string json = "{" + string.Join(",",
            "\"__metadata__\":{\"format\":\"pt\"}",
            "\"z.double\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[0,16]}",
            "\"a.ids\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[16,24]}",
            "\"m.float\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[24,36]}",
            "\"h\":{\"dtype\":\"F16\",\"shape\":[2,1],\"data_offsets\":[36,40]}",
            "\"bf\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[40,44]}") + "}";
        File.WriteAllBytes(path, SafeTensorsBytes.Build(json.PadRight((json.Length + 7) / 8 * 8), data.ToArray()));

        var file = SafeTensorsFile.Open(path);
        Assert.Equal([1.5f, -2.25f], file.ReadFloat32("z.double"));
        Assert.Equal([0.5f, 4f, -8f], file.ReadFloat32("m.float"));
        Assert.Equal([0.25f, -3f], file.ReadFloat32("h", [2, 1]));
        Assert.Equal([1f, -3f], file.ReadFloat32("bf"));
        Assert.Equal(SafeTensorsDType.I64, file.Info("a.ids").DType);
        var e = Assert.Throws<ModelFormatException>(() => file.ReadFloat32("a.ids"));
        Assert.Contains(path, e.Message);
        Assert.Contains("I64", e.Message);
        Assert.Contains("cannot be read as float32", e.Message);
    }

    [Fact]
    public void Reading_into_a_destination_of_the_wrong_length_is_refused()
    {
        string path = _dir.File("x.safetensors");
        SafeTensorsWriter.Write(path, [T("x", [4], RandomValues(6, 4))]);
        var file = SafeTensorsFile.Open(path);
        var e = Assert.Throws<ArgumentException>(() => file.ReadFloat32("x", new float[3]));
        Assert.Contains("4 elements", e.Message);
        var into = new float[4];
        file.ReadFloat32("x", into);
        Assert.Equal(file.ReadFloat32("x"), into);
    }

    [Fact]
    public void Write_replaces_atomically_and_a_failed_write_leaves_the_old_file_and_no_temporary()
    {
        string path = _dir.File("ckpt.safetensors");
        SafeTensorsWriter.Write(path, [T("x", [2], [1f, 2f])]);
        SafeTensorsWriter.Write(path, [T("x", [3], [3f, 4f, 5f])]);
        Assert.Equal([3f, 4f, 5f], SafeTensorsFile.Open(path).ReadFloat32("x"));
        Assert.False(File.Exists(path + ".tmp"));

        var e = Assert.Throws<ArgumentException>(() => SafeTensorsWriter.Write(path, [T("y", [2, 2], [1f, 2f, 3f])]));
        Assert.Contains("'y'", e.Message);
        Assert.Equal([3f, 4f, 5f], SafeTensorsFile.Open(path).ReadFloat32("x"));
        Assert.False(File.Exists(path + ".tmp"));
        Assert.Throws<ArgumentException>(() => SafeTensorsWriter.Write(path, [T("x", [1], [1f]), T("x", [1], [2f])]));
        Assert.Throws<ArgumentException>(() => SafeTensorsWriter.Write(path, [T("x", [1], [1f])],
            SafeTensorsDType.I32));
    }

    [Fact]
    public void Named_parameters_are_written_under_their_names_including_views()
    {
        string path = _dir.File("params.safetensors");
        var w = Tensor.FromArray(RandomValues(7, 6), [2, 3], name: "w");
        var view = w.Reshape(3, 2);
        view.Name = "w.as_3x2";
        SafeTensorsWriter.Write(path, [w, view], SafeTensorsDType.F32);
        var file = SafeTensorsFile.Open(path);
        Assert.Equal(w.ReadOnlySpan.ToArray(), file.ReadFloat32("w", [2, 3]));
        Assert.Equal(w.ReadOnlySpan.ToArray(), file.ReadFloat32("w.as_3x2", [3, 2]));
        Assert.Throws<ArgumentException>(() => SafeTensorsWriter.Write(path,
            [Tensor.Parameter([1], trainable: false)]));
    }
}

/// <summary>Builds safetensors bytes by hand, so tests can describe malformed files exactly.</summary>
internal static class SafeTensorsBytes
{
    public static byte[] Build(string headerJson, byte[] data, ulong? headerLengthField = null)
        => Build(Encoding.UTF8.GetBytes(headerJson), data, headerLengthField);

    public static byte[] Build(byte[] header, byte[] data, ulong? headerLengthField = null)
    {
        var bytes = new byte[8 + header.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, headerLengthField ?? (ulong)header.Length);
        header.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + header.Length);
        return bytes;
    }
}
