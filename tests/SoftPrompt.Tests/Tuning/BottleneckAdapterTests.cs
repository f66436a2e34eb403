using System.Text.Json.Nodes;
using SoftPrompt.Engine;
using SoftPrompt.Engine.IO;
using SoftPrompt.Models;
using SoftPrompt.Tests.Support;
using SoftPrompt.Tuning.Adapters;
using Xunit;
using static SoftPrompt.Tests.Tuning.LayerAdapterKit;

namespace SoftPrompt.Tests.Tuning;

public class BottleneckAdapterTests
{
    private static float[] Hidden(CausalLanguageModel model, ILayerHooks? hooks)
    {
        var tape = new Tape(recording: false);
        return model.Hidden(tape, new ForwardInput { Batch = 1, Length = 5, TokenIds = [1, 40, 300, 22, 9],
            Hooks = hooks }).ToArray();
    }

    [Fact]
    public void The_residual_inside_makes_a_zero_up_projection_the_identity()
    {
        var model = FreshTinyStories().Model;
        var adapter = new BottleneckAdapter(model, new BottleneckOptions { AfterAttention = true });
        var frozen = Hidden(model, null);
        Assert.True(Compare.MaxRelativeError(Hidden(model, adapter.Hooks([0])), frozen) < 0.05,
            "near zero up-projections start near the frozen model");
        foreach (var t in adapter.Trainable.Where(t => t.Name!.Contains(".up."))) t.Span.Clear();
        Assert.Equal(frozen, Hidden(model, adapter.Hooks([0])));
    }

    [Fact]
    public void Saves_its_own_format_and_says_so()
    {
        var model = FreshTinyStories().Model; // 5 layers, width 64
        var adapter = new BottleneckAdapter(model, new BottleneckOptions { Size = 8, Activation = "gelu" });
        Assert.Equal(5 * (2 * 8 * 64 + 8 + 64), adapter.StoredValueCount);
        using var dir = new TempDirectory();
        adapter.Save(dir.Path, "tinystories-260k");
        var config = JsonNode.Parse(File.ReadAllText(dir.File("adapter_config.json")))!;
        Assert.Equal("SOFTPROMPT_BOTTLENECK", (string?)config["peft_type"]);
        Assert.Contains("PEFT has no bottleneck adapters", (string?)config["format_note"]);
        Assert.Equal("gelu", (string?)config["non_linearity"]);
        var file = SafeTensorsFile.Open(dir.File("adapter_model.safetensors"));
        Assert.Equal(new[] { 8, 64 }, file.Info("layers.0.feed_forward_adapter.down.weight").Shape);
        Assert.Equal(new[] { 64, 8 }, file.Info("layers.4.feed_forward_adapter.up.weight").Shape);
        Assert.False(file.Contains("layers.0.attention_adapter.down.weight"));
        Assert.Equal("gelu", BottleneckAdapter.Load(dir.Path, FreshTinyStories().Model).Options.Activation);
    }
}
