using SoftPrompt.Engine.IO;
using SoftPrompt.Tests.Support;
using Xunit;

namespace SoftPrompt.Tests.Formats;

public class SafeTensorsIndexTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    public void Dispose() => _dir.Dispose();

    private static readonly float[] A = [1f, 2f, 3f, 4f], B = [5f, 6f], C = [-1f, -2f, -3f];

    /// <summary>Two shards: a and b in the first, c in the second.</summary>
    private string WriteCheckpoint(string weightMapJson)
    {
        SafeTensorsWriter.Write(_dir.File("model-00001-of-00002.safetensors"), [("a", [2, 2], A), ("b", [2], B)]);
        SafeTensorsWriter.Write(_dir.File("model-00002-of-00002.safetensors"), [("c", [3], C)], SafeTensorsDType.BF16);
        string index = _dir.File(SafeTensorsIndex.DefaultFileName);
        File.WriteAllText(index, "{\"metadata\": {\"total_size\": 30}, \"weight_map\": " + weightMapJson + "}");
        return index;
    }

    private const string GoodMap = """
        {"a": "model-00001-of-00002.safetensors", "c": "model-00002-of-00002.safetensors",
         "b": "model-00001-of-00002.safetensors"}
        """;

    [Fact]
    public void Presents_the_shards_as_one_set_of_tensors()
    {
        var index = SafeTensorsIndex.Open(WriteCheckpoint(GoodMap));
        Assert.Equal(["a", "c", "b"], index.Names);
        Assert.Equal(2, index.ShardPaths.Count);
        Assert.Equal("30", index.Metadata["total_size"]);
        Assert.Equal(A, index.ReadFloat32("a", [2, 2]));
        Assert.Equal(B, index.ReadFloat32("b"));
        Assert.Equal(C, index.ReadFloat32("c", [3]));
        Assert.Equal(SafeTensorsDType.BF16, index.Info("c").DType);
        Assert.EndsWith("model-00002-of-00002.safetensors", index.Shard("c").SourcePath);
        Assert.True(index.Contains("b"));
        Assert.False(index.Contains("d"));

        var e = Assert.Throws<ModelFormatException>(() => index.ReadFloat32("d"));
        Assert.StartsWith(index.SourcePath, e.Message);
        Assert.Contains("no tensor 'd'", e.Message);
        Assert.Contains("'a'", e.Message);
        e = Assert.Throws<ModelFormatException>(() => index.ReadFloat32("a", [4]));
        Assert.Contains("has shape [2, 2], expected [4]", e.Message);
    }

    [Fact]
    public void OpenCheckpoint_finds_the_index_a_single_file_or_neither()
    {
        WriteCheckpoint(GoodMap);
        Assert.IsType<SafeTensorsIndex>(SafeTensorsIndex.OpenCheckpoint(_dir.Path));
        Assert.IsType<SafeTensorsIndex>(SafeTensorsIndex.OpenCheckpoint(_dir.File(SafeTensorsIndex.DefaultFileName)));

        using var single = new TempDirectory();
        var e = Assert.Throws<ModelFormatException>(() => SafeTensorsIndex.OpenCheckpoint(single.Path));
        Assert.Contains("neither", e.Message);
        SafeTensorsWriter.Write(single.File(SafeTensorsIndex.SingleFileName), [("x", [1], new[] { 9f })]);
        var source = SafeTensorsIndex.OpenCheckpoint(single.Path);
        Assert.IsType<SafeTensorsFile>(source);
        Assert.Equal([9f], source.ReadFloat32("x"));
    }

    private static void AssertOpenFails(string index, params string[] fragments)
    {
        var e = Assert.Throws<ModelFormatException>(() => SafeTensorsIndex.Open(index));
        Assert.StartsWith(index, e.Message);
        foreach (string fragment in fragments) Assert.Contains(fragment, e.Message);
    }

    [Fact]
    public void Missing_shard_file()
        => AssertOpenFails(
            WriteCheckpoint("""{"a": "model-00001-of-00002.safetensors", "z": "model-00009-of-00009.safetensors"}"""),
            "tensor 'z'", "shard 'model-00009-of-00009.safetensors'", "no such file");

    [Fact]
    public void Tensor_mapped_to_a_shard_that_lacks_it()
        => AssertOpenFails(
            WriteCheckpoint("""{"a": "model-00001-of-00002.safetensors", "c": "model-00001-of-00002.safetensors"}"""),
            "maps tensor 'c' to shard 'model-00001-of-00002.safetensors'", "lacks it");

    [Theory]
    [InlineData("../model-00001-of-00002.safetensors")]
    [InlineData("/etc/passwd")]
    [InlineData("sub/model.safetensors")]
    [InlineData("..")]
    public void Shard_outside_the_index_folder_is_refused(string shard)
        => AssertOpenFails(WriteCheckpoint("{\"a\": \"" + shard + "\"}"), "tensor 'a'", "not a plain file name");

    [Fact]
    public void Missing_weight_map()
    {
        string index = _dir.File(SafeTensorsIndex.DefaultFileName);
        File.WriteAllText(index, "{\"metadata\": {}}");
        AssertOpenFails(index, "has no \"weight_map\" field");
        AssertOpenFails(WriteCheckpoint("null"), "\"weight_map\" must be an object", "null");
    }

    [Fact]
    public void Weight_map_entry_not_a_string()
        => AssertOpenFails(WriteCheckpoint("""{"a": 1}"""), "tensor 'a'", "must be a shard file name", "a number");

    [Fact]
    public void A_broken_shard_is_reported_under_its_own_name()
    {
        string index = WriteCheckpoint(GoodMap);
        string shard = _dir.File("model-00002-of-00002.safetensors");
        File.WriteAllBytes(shard, new byte[5]);
        var e = Assert.Throws<ModelFormatException>(() => SafeTensorsIndex.Open(index));
        Assert.Equal(shard, e.FilePath);
        Assert.Contains("too short", e.Message);
    }
}
