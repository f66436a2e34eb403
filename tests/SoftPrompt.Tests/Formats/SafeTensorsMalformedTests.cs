using System.Text;
using SoftPrompt.Engine.IO;
using SoftPrompt.Tests.Support;
using Xunit;

namespace SoftPrompt.Tests.Formats;

/// <summary>Each malformed or hostile file must fail at Open (or at the read) with a message naming the file and the
/// problem.</summary>
public class SafeTensorsMalformedTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    public void Dispose() => _dir.Dispose();

    private string Save(byte[] bytes)
    {
        string path = _dir.File($"bad-{Guid.NewGuid():N}.safetensors");
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private string Save(string headerJson, int dataBytes = 0) => Save(SafeTensorsBytes.Build(headerJson,
        new byte[dataBytes]));

    private static ModelFormatException AssertFails(string path, Action action, params string[] fragments)
    {
        var e = Assert.Throws<ModelFormatException>(action);
        Assert.IsAssignableFrom<IOException>(e);
        Assert.StartsWith(path, e.Message);
        Assert.Equal(path, e.FilePath);
        foreach (string fragment in fragments) Assert.Contains(fragment, e.Message);
        return e;
    }

    private static void AssertOpenFails(string path, params string[] fragments)
        => AssertFails(path, () => SafeTensorsFile.Open(path), fragments);

    [Fact]
    public void Missing_file() => AssertOpenFails(_dir.File("absent.safetensors"), "does not exist");

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    public void File_shorter_than_the_length_field(int length)
        => AssertOpenFails(Save(new byte[length]), $"{length} bytes long", "too short");

    [Fact]
    public void Empty_file() => AssertOpenFails(Save(Array.Empty<byte>()), "empty");

    [Fact]
    public async Task A_fifo_in_place_of_a_file_is_refused_without_blocking()
    {
        if (!OperatingSystem.IsLinux()) return;
        string fifo = _dir.File("adapter_config.json");
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", fifo)) await mkfifo.WaitForExitAsync();
        // WaitAsync throws TimeoutException when the open blocks.
        var error = await Task.Run(() => Assert.Throws<ModelFormatException>(() => JsonFile.Load(fifo))).WaitAsync(
            TimeSpan.FromSeconds(10));
        Assert.Contains("not a regular file", error.Message);
    }

    [Fact]
    public void Header_length_larger_than_the_file()
        => AssertOpenFails(Save(SafeTensorsBytes.Build("{}", [], headerLengthField: 1000)),
            "header length field says 1000 bytes", "only 2 bytes follow");

    [Fact]
    public void Hostile_header_length_is_rejected_before_any_allocation()
        => AssertOpenFails(Save(SafeTensorsBytes.Build("{}", [], headerLengthField: ulong.MaxValue)),
            $"says {ulong.MaxValue} bytes", "only 2 bytes follow");

    [Fact]
    public void Header_length_over_100_MB()
    {
        // A sparse file, so the length check sees a file big enough to hold the claimed header.
        string path = _dir.File("huge.safetensors");
        const ulong claimed = 150_000_000;
        using (var stream = File.Create(path))
        {
            stream.Write(SafeTensorsBytes.Build("{}", [], headerLengthField: claimed).AsSpan(0, 8));
            stream.SetLength(8 + (long)claimed + 16);
        }
        AssertOpenFails(path, "150000000 bytes", "100 MB limit");
    }

    [Fact]
    public void Header_not_utf8()
        => AssertOpenFails(Save(SafeTensorsBytes.Build(new byte[] { (byte)'{', 0xFF, 0xFE, (byte)'}' }, [])),
            "not valid UTF-8");

    [Fact]
    public void Header_not_json() => AssertOpenFails(Save("{\"a\": {\"dtype\": "), "not valid JSON");

    [Theory]
    [InlineData("[1, 2]", "an array")]
    [InlineData("\"text\"", "a string")]
    [InlineData("null", "null")]
    public void Header_not_an_object(string json, string kind) => AssertOpenFails(Save(json), "must be a JSON object",
        kind);

    [Theory]
    [InlineData("dtype")]
    [InlineData("shape")]
    [InlineData("data_offsets")]
    public void Tensor_entry_missing_a_field(string field)
    {
        var fields = new Dictionary<string, string> { ["dtype"] = "\"F32\"", ["shape"] = "[2]",
            ["data_offsets"] = "[0, 8]" };
        fields.Remove(field);
        string json = "{\"w\": {" + string.Join(", ", fields.Select(f => $"\"{f.Key}\": {f.Value}")) + "}}";
        AssertOpenFails(Save(json, 8), "tensor 'w'", $"has no \"{field}\" field");
    }

    [Fact]
    public void Tensor_entry_not_an_object() => AssertOpenFails(Save("{\"w\": [1, 2]}"), "tensor 'w'",
        "must be described by an object");

    [Fact]
    public void Unknown_dtype()
        => AssertOpenFails(Save("{\"w\": {\"dtype\": \"F31\", \"shape\": [2], \"data_offsets\": [0, 8]}}", 8),
            "tensor 'w'", "unknown dtype 'F31'", "BF16");

    [Fact]
    public void Dtype_of_the_wrong_json_type()
        => AssertOpenFails(Save("{\"w\": {\"dtype\": 4, \"shape\": [2], \"data_offsets\": [0, 8]}}", 8), "tensor 'w'",
            "dtype", "not a string");

    [Fact]
    public void Negative_dimension()
        => AssertOpenFails(Save("{\"w\": {\"dtype\": \"F32\", \"shape\": [2, -3], \"data_offsets\": [0, 8]}}", 8),
            "tensor 'w'", "negative dimension -3");

    [Fact]
    public void Fractional_dimension()
        => AssertOpenFails(Save("{\"w\": {\"dtype\": \"F32\", \"shape\": [2.5], \"data_offsets\": [0, 8]}}", 8),
            "tensor 'w'", "2.5", "not a whole number");

    [Fact]
    public void Dimension_beyond_int_range()
        => AssertOpenFails(Save("{\"w\": {\"dtype\": \"F32\", \"shape\": [4294967296], \"data_offsets\": [0, 8]}}", 8),
            "tensor 'w'", "4294967296", "overflowing shape");

    [Fact]
    public void Shape_whose_byte_size_overflows()
        => AssertOpenFails(
            Save("{\"w\": {\"dtype\": \"F64\", \"shape\": [2147483647, 2147483647, 2147483647], \"data_offsets\": " +
            "[0, 8]}}", 8),
            "tensor 'w'", "overflows 64 bits");

    [Fact]
    public void Begin_after_end()
        => AssertOpenFails(Save("{\"w\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [8, 0]}}", 8),
            "tensor 'w'", "[8, 0]", "begin is after end");

    [Theory]
    [InlineData("[0]")]
    [InlineData("[0, 8, 16]")]
    [InlineData("{\"begin\": 0}")]
    public void Data_offsets_not_a_pair(string offsets)
        => AssertOpenFails(Save("{\"w\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": " + offsets + "}}", 8),
            "tensor 'w'", "not an array [begin, end]");

    [Fact]
    public void Negative_offset()
        => AssertOpenFails(Save("{\"w\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [-8, 0]}}", 8),
            "tensor 'w'", "-8", "not a non-negative whole number");

    [Fact]
    public void End_past_the_data_buffer()
        => AssertOpenFails(Save("{\"w\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16]}}", 12),
            "tensor 'w'", "ends at data byte 16", "12-byte data buffer");

    [Fact]
    public void Byte_length_not_matching_the_shape()
        => AssertOpenFails(Save("{\"w\": {\"dtype\": \"BF16\", \"shape\": [2, 3], \"data_offsets\": [0, 8]}}", 8),
            "tensor 'w'", "occupies 8 bytes", "BF16 with shape [2, 3] needs 12");

    [Fact]
    public void Overlapping_tensors()
    {
        string json =
            "{\"a\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16]}, \"b\": {\"dtype\": \"F32\", " +
            "\"shape\": [2], \"data_offsets\": [12, 20]}}";
        AssertOpenFails(Save(json, 20), "'a'", "'b'", "overlap");
    }

    [Fact]
    public void Tensor_nested_inside_another_overlaps_too()
    {
        string json =
            "{\"outer\": {\"dtype\": \"F32\", \"shape\": [8], \"data_offsets\": [0, 32]}, \"x\": {\"dtype\": " +
            "\"F32\", \"shape\": [1], \"data_offsets\": [4, 8]}, \"y\": {\"dtype\": \"F32\", \"shape\": [1], " +
            "\"data_offsets\": [16, 20]}}";
        AssertOpenFails(Save(json, 32), "'outer'", "overlap");
    }

    [Fact]
    public void Gaps_between_tensors_and_empty_tensors_are_allowed()
    {
        var data = new byte[40];
        BitConverter.GetBytes(2.5f).CopyTo(data, 0);
        BitConverter.GetBytes(-1f).CopyTo(data, 32);
        string json =
            "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}, \"none\": {\"dtype\": \"F32\", " +
            "\"shape\": [0], \"data_offsets\": [2, 2]}, \"b\": {\"dtype\": \"F32\", \"shape\": [1], " +
            "\"data_offsets\": [32, 36]}}";
        var file = SafeTensorsFile.Open(Save(SafeTensorsBytes.Build(json, data)));
        Assert.Equal([2.5f], file.ReadFloat32("a"));
        Assert.Equal([-1f], file.ReadFloat32("b"));
        Assert.Empty(file.ReadFloat32("none"));
    }

    [Fact]
    public void Duplicate_tensor_name()
    {
        string entry = "{\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}";
        AssertOpenFails(Save("{\"w\": " + entry + ", \"w\": " + entry + "}", 4), "'w'", "twice");
    }

    [Fact]
    public void Metadata_value_not_a_string()
        => AssertOpenFails(Save("{\"__metadata__\": {\"format\": \"pt\", \"step\": 5}}"), "__metadata__", "'step'",
            "must be a string");

    [Fact]
    public void Metadata_not_an_object() => AssertOpenFails(Save("{\"__metadata__\": [\"pt\"]}"), "__metadata__",
        "must be an object");

    [Fact]
    public void Very_long_names_are_clipped_in_messages()
    {
        string name = new('n', 100_000);
        string path = Save("{\"" + name + "\": {\"dtype\": \"X\", \"shape\": [], \"data_offsets\": [0, 0]}}");
        var e = AssertFails(path, () => SafeTensorsFile.Open(path), "unknown dtype", "(100000 characters)");
        Assert.True(e.Message.Length < 1000, $"message of {e.Message.Length} characters");
    }

    private SafeTensorsFile GoodFile()
    {
        string path = _dir.File("good.safetensors");
        SafeTensorsWriter.Write(path, [
            ("model.layers.0.attn.weight", [2, 3], new float[6]),
            ("model.layers.0.mlp.weight", [3], new float[3]),
            ("model.norm.weight", [3], new float[3])]);
        return SafeTensorsFile.Open(path);
    }

    [Fact]
    public void Absent_name_lists_the_nearest_present_names()
    {
        var file = GoodFile();
        var e = AssertFails(file.SourcePath, () => file.ReadFloat32("model.layers.0.attn.wieght"),
            "no tensor 'model.layers.0.attn.wieght'", "holds 3 tensors", "'model.layers.0.attn.weight'");
        Assert.True(e.Message.IndexOf("attn.weight'", StringComparison.Ordinal) < e.Message.IndexOf("norm.weight'",
            StringComparison.Ordinal),
            "the closest name should be suggested first");
        AssertFails(file.SourcePath, () => file.Info("missing"), "no tensor 'missing'");
    }

    [Fact]
    public void Shape_differing_from_the_expected_one()
    {
        var file = GoodFile();
        AssertFails(file.SourcePath, () => file.ReadFloat32("model.layers.0.attn.weight", [3, 2]),
            "tensor 'model.layers.0.attn.weight' has shape [2, 3], expected [3, 2]");
        Assert.Equal(6, file.ReadFloat32("model.layers.0.attn.weight", [2, 3]).Length);
    }

    [Fact]
    public void File_truncated_after_open_fails_on_read()
    {
        var file = GoodFile();
        using (var stream = new FileStream(file.SourcePath, FileMode.Open)) stream.SetLength(stream.Length - 4);
        AssertFails(file.SourcePath, () => file.ReadFloat32("model.norm.weight"), "changed size");
    }
}
