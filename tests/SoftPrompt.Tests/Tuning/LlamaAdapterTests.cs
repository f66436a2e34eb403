using System.Text.Json.Nodes;
using SoftPrompt.Engine;
using SoftPrompt.Engine.IO;
using SoftPrompt.Models;
using SoftPrompt.Tests.Support;
using SoftPrompt.Tuning.LlamaAdapter;
using Xunit;
using static SoftPrompt.Tests.Tuning.LayerAdapterKit;

namespace SoftPrompt.Tests.Tuning;

public class LlamaAdapterTests
{
    private static float[] Hidden(CausalLanguageModel model, ILayerHooks? hooks, KvCache? cache = null,
        int[]? ids = null)
    {
        ids ??= [1, 40, 300, 22, 9, 17, 5, 6, 7, 8, 9, 10];
        var tape = new Tape(recording: false);
        return model.Hidden(tape, new ForwardInput { Batch = 2, Length = ids.Length / 2, TokenIds = ids, Hooks = hooks,
            Cache = cache }).ToArray();
    }

    [Fact]
    public void Zero_gates_give_outputs_identical_to_the_frozen_model()
    {
        var model = FreshTinyStories().Model;
        // more prompt rows than text rows, too
        var adapter = new LlamaAdapter(model, new LlamaAdapterOptions { Length = 10 });
        Assert.Equal(Hidden(model, null), Hidden(model, adapter.Hooks([0, 0])));
        adapter.Prompts[^1].Gate.Span[0] = 0.5f;
        Assert.NotEqual(Hidden(model, null), Hidden(model, adapter.Hooks([0, 0])));
    }

    [Fact]
    public void Only_the_top_layers_get_prompts_in_PEFT_layout()
    {
        var model = FreshTinyStories().Model; // 5 layers, width 64
        var adapter = new LlamaAdapter(model, new LlamaAdapterOptions { Length = 3, Layers = 2 });
        using var dir = new TempDirectory();
        adapter.Save(dir.Path, "tinystories-260k");

        var config = JsonNode.Parse(File.ReadAllText(dir.File("adapter_config.json")))!;
        Assert.Equal("ADAPTION_PROMPT", (string?)config["peft_type"]);
        Assert.Equal(3, (int?)config["adapter_len"]);
        Assert.Equal(2, (int?)config["adapter_layers"]);
        Assert.Equal("self_attn", (string?)config["target_modules"]);
        var file = SafeTensorsFile.Open(dir.File("adapter_model.safetensors"));
        Assert.Equal(
            new[] { "base_model.model.model.layers.3.self_attn.adaption_gate",
                "base_model.model.model.layers.3.self_attn.adaption_prompt",
                    "base_model.model.model.layers.4.self_attn.adaption_gate",
                    "base_model.model.model.layers.4.self_attn.adaption_prompt" },
            file.Names.Order());
        Assert.Equal(new[] { 1, 3, 64 }, file.Info("base_model.model.model.layers.4.self_attn.adaption_prompt").Shape);
        Assert.Equal(new[] { 1 }, file.Info("base_model.model.model.layers.4.self_attn.adaption_gate").Shape);
    }

    [Fact]
    public void Decoding_with_a_cache_matches_the_full_forward_pass()
    {
        var model = FreshTinyStories().Model;
        var adapter = new LlamaAdapter(model, new LlamaAdapterOptions { Length = 4, Layers = 3 });
        Perturb(adapter, range: 0.5f);
        int[] ids = [1, 40, 300, 22, 9, 17, 5, 6, 7, 8, 9, 10];
        var full = Hidden(model, adapter.Hooks([0, 0]), ids: ids);
        var cache = new KvCache(model.Config, batch: 2, capacity: 8);
        Hidden(model, adapter.Hooks([0, 0]), cache, [.. ids[..5], .. ids[6..11]]);
        var last = Hidden(model, adapter.Hooks([0, 0]), cache, [ids[5], ids[11]]);
        int d = model.Config.HiddenSize;
        Assert.True(Compare.MaxRelativeError(last.AsSpan(0, d), full.AsSpan(5 * d, d)) < 1e-4);
        Assert.True(Compare.MaxRelativeError(last.AsSpan(d, d), full.AsSpan(11 * d, d)) < 1e-4);
    }
}
