using SoftPrompt.Engine.IO;
using SoftPrompt.Models.Formats;
using SoftPrompt.Tests.Support;
using Xunit;

namespace SoftPrompt.Tests.Models;

/// <summary>Loading and saving whole model directories: round trips, and the errors a damaged directory gets.</summary>
public class ModelLoaderTests
{
    private static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "fixtures", "parity", name);

    [Theory]
    [InlineData("gpt2-tiny")]
    [InlineData("llama-tiny")]
    [InlineData("qwen2-tiny")]
    [InlineData("qwen3-tiny")]
    [InlineData("llama3-tiny")]
    [InlineData("pythia-tiny")]
    [InlineData("phi3-tiny")]
    [InlineData("gemma3-tiny")]
    public void Save_then_load_gives_back_every_parameter(string name)
    {
        var original = ModelLoader.Load(Fixture(name)).Model;
        using var dir = new TempDirectory();
        ModelLoader.Save(original, dir.Path);
        var reloaded = ModelLoader.Load(dir.Path).Model;
        // model_type, head_dim and the family's flags come back too
        Assert.Equal(original.Config, reloaded.Config with { });
        foreach (var p in original.Parameters)
            Assert.Equal(p.Tensor.ToArray(), reloaded.Parameter(p.Name).ToArray());
    }

    [Fact]
    public void A_tensor_with_the_wrong_shape_is_named_with_both_shapes()
    {
        using var dir = CopyWithEdit("llama-tiny", (name, shape, data) =>
            name == "model.layers.0.mlp.up_proj.weight" ? (new[] { shape[1], shape[0] }, data) : (shape, data));
        var e = Assert.ThrowsAny<IOException>(() => ModelLoader.Load(dir.Path));
        Assert.Contains("model.layers.0.mlp.up_proj.weight", e.Message);
        Assert.Contains("model.safetensors", e.Message);
        Assert.Matches(@"\[\d+, \d+\].*\[\d+, \d+\]", e.Message);
    }

    [Fact]
    public void A_missing_tensor_is_named()
    {
        using var dir = CopyWithEdit("llama-tiny", (name, shape, data) => name == "model.norm.weight" ? null : (shape,
            data));
        var e = Assert.ThrowsAny<Exception>(() => ModelLoader.Load(dir.Path));
        Assert.Contains("model.norm.weight", e.Message);
    }

    [Theory]
    [InlineData("t5-tiny")]
    [InlineData("t5-v1_1-tiny")]
    public void A_t5_saves_and_loads_back_and_is_not_taken_for_a_single_stack(string name)
    {
        var original = ModelLoader.LoadT5(Fixture(name)).Model;
        using var dir = new TempDirectory();
        ModelLoader.Save(original, dir.Path);
        var reloaded = ModelLoader.LoadT5(dir.Path).Model;
        Assert.Equal(original.Config, reloaded.Config);
        foreach (var p in original.Parameters)
            Assert.Equal(p.Tensor.ToArray(), reloaded.Parameter(p.Name).ToArray());
        Assert.Contains("T5 encoder-decoder", Assert.ThrowsAny<IOException>(() => ModelLoader.Load(dir.Path)).Message);
        Assert.Contains("needs a T5", Assert.ThrowsAny<IOException>(() =>
            ModelLoader.LoadT5(Fixture("llama-tiny"))).Message);
    }

    [Fact]
    public void A_t5_checkpoint_may_keep_the_shared_embedding_under_a_stacks_name()
    {
        using var dir = CopyWithEdit("t5-tiny", (name, shape, data) => (shape, data), rename: name =>
            name == "shared.weight" ? "encoder.embed_tokens.weight" : name);
        var original = ModelLoader.LoadT5(Fixture("t5-tiny")).Model;
        Assert.Equal(original.TokenEmbedding.ToArray(), ModelLoader.LoadT5(dir.Path).Model.TokenEmbedding.ToArray());
    }

    [Fact]
    public void A_directory_without_config_says_so()
    {
        using var dir = new TempDirectory();
        var e = Assert.ThrowsAny<IOException>(() => ModelLoader.Load(dir.Path));
        Assert.Contains("config.json", e.Message);
    }

    /// <summary>Copies a fixture model, passing each stored tensor through <paramref name="edit"/> (null drops it) and
    /// its name through <paramref name="rename"/>.</summary>
    private static TempDirectory CopyWithEdit(string fixture, Func<string, int[], float[],
        (int[] Shape, float[] Data)?> edit, Func<string, string>? rename = null)
    {
        var dir = new TempDirectory();
        File.Copy(Path.Combine(Fixture(fixture), "config.json"), dir.File("config.json"));
        var source = SafeTensorsFile.Open(Path.Combine(Fixture(fixture), "model.safetensors"));
        var tensors = new List<(string, int[], ReadOnlyMemory<float>)>();
        foreach (string name in source.Names)
        {
            var edited = edit(name, source.Info(name).Shape, source.ReadFloat32(name));
            if (edited is { } e) tensors.Add((rename?.Invoke(name) ?? name, e.Shape, e.Data));
        }
        SafeTensorsWriter.Write(dir.File("model.safetensors"), tensors);
        return dir;
    }
}
