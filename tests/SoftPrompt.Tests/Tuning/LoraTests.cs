using System.Text.Json.Nodes;
using SoftPrompt.Engine;
using SoftPrompt.Engine.IO;
using SoftPrompt.Models;
using SoftPrompt.Tests.Support;
using SoftPrompt.Tuning;
using SoftPrompt.Tuning.Lora;
using Xunit;
using static SoftPrompt.Tests.Tuning.LayerAdapterKit;

namespace SoftPrompt.Tests.Tuning;

public class LoraTests
{
    private static float[] Logits(CausalLanguageModel model, ILayerHooks? hooks)
    {
        var tape = new Tape(recording: false);
        var logits = model.Forward(tape, new ForwardInput { Batch = 2, Length = 6, TokenIds = [1, 40, 300, 22, 9, 17, 5,
            6, 7, 8, 9, 10], Hooks = hooks }).ToArray();
        tape.Reset();
        return logits;
    }

    [Fact]
    public void Zero_B_gives_outputs_identical_to_the_frozen_model()
    {
        var model = FreshTinyStories().Model;
        var lora = new LoraAdapter(model, new LoraOptions());
        Assert.Equal(Logits(model, null), Logits(model, lora.Hooks([0, 0])));
    }

    [Fact]
    public void Targets_default_to_queries_and_values_and_match_by_module_name()
    {
        var model = FreshTinyStories().Model; // 5 layers, width 64
        var lora = new LoraAdapter(model, new LoraOptions { Rank = 2 });
        Assert.Equal(10, lora.Updates.Count);
        Assert.All(lora.Updates, u => Assert.Matches(@"^model\.layers\.\d\.self_attn\.[qv]_proj$", u.Module));
        var mlp = new LoraAdapter(model, new LoraOptions { Rank = 2, TargetModules = ["mlp.down_proj",
            "model.layers.0.mlp.up_proj"] });
        Assert.Equal(6, mlp.Updates.Count);
        var gpt2 = new LoraAdapter(TinyRandom(Architecture.Gpt2), new LoraOptions { Rank = 2 });
        Assert.All(gpt2.Updates, u => Assert.EndsWith(".attn.c_attn", u.Module));
        var ex = Assert.Throws<ArgumentException>(() => new LoraAdapter(model,
            new LoraOptions { TargetModules = ["query"] }));
        Assert.Contains("self_attn.q_proj", ex.Message);
    }

    [Fact]
    public void Saves_in_PEFT_layout()
    {
        var model = FreshTinyStories().Model;
        var lora = new LoraAdapter(model, new LoraOptions { Rank = 4, Alpha = 8 });
        using var dir = new TempDirectory();
        lora.Save(dir.Path, "tinystories-260k");

        var config = JsonNode.Parse(File.ReadAllText(dir.File("adapter_config.json")))!;
        Assert.Equal("LORA", (string?)config["peft_type"]);
        Assert.Equal("CAUSAL_LM", (string?)config["task_type"]);
        Assert.Equal(4, (int?)config["r"]);
        Assert.Equal(8f, (float?)config["lora_alpha"]);
        Assert.Equal(new[] { "q_proj", "v_proj" }, config["target_modules"]!.AsArray().Select(n => (string?)n));
        Assert.Equal("none", (string?)config["bias"]);

        var file = SafeTensorsFile.Open(dir.File("adapter_model.safetensors"));
        Assert.Equal(20, file.Names.Count);
        Assert.Equal(new[] { 4, 64 },
            file.Info("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight").Shape);
        Assert.Equal(new[] { 64, 4 },
            file.Info("base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight").Shape);
        int kv = model.Config.KvWidth;
        Assert.Equal(new[] { kv, 4 },
            file.Info("base_model.model.model.layers.4.self_attn.v_proj.lora_B.weight").Shape);
    }

    [Fact]
    public void Loads_a_directory_as_PEFT_writes_it()
    {
        var loaded = FreshTinyStories();
        var written = new LoraAdapter(loaded.Model, new LoraOptions { Rank = 2, TargetModules = ["o_proj"] });
        Perturb(written);
        var expected = Classifier(loaded, written).LabelScores(Examples);

        // PEFT's own config: fields we never write, a regex for target_modules, its default alpha left implicit.
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("adapter_config.json"), """
            {"alpha_pattern": {}, "auto_mapping": null, "base_model_name_or_path": "tinystories", "bias": "none",
             "fan_in_fan_out": false, "inference_mode": true, "init_lora_weights": true, "layers_pattern": null,
             "layers_to_transform": null, "lora_alpha": 16, "lora_dropout": 0.05, "modules_to_save": null,
             "peft_type": "LORA", "r": 2, "rank_pattern": {}, "revision": null, "target_modules": ".*o_proj",
             "task_type": "CAUSAL_LM", "use_dora": false, "use_rslora": false}
            """);
        SafeTensorsWriter.Write(dir.File("adapter_model.safetensors"),
            written.Trainable.Reverse().Select(t => (t.Name!, t.Shape, (ReadOnlyMemory<float>)t.ToArray())));

        var again = FreshTinyStories();
        var lora = LoraAdapter.Load(dir.Path, again.Model);
        Assert.Equal(5, lora.Updates.Count);
        Assert.Equal(expected, Classifier(again, lora).LabelScores(Examples));
    }

    [Fact]
    public void Rejects_what_it_cannot_apply()
    {
        var model = FreshTinyStories().Model;
        using var dir = new TempDirectory();
        new LoraAdapter(model, new LoraOptions { Rank = 2 }).Save(dir.Path, "m");
        var config = JsonNode.Parse(File.ReadAllText(dir.File("adapter_config.json")))!;
        config["use_dora"] = true;
        File.WriteAllText(dir.File("adapter_config.json"), config.ToJsonString());
        Assert.Contains("DoRA", Assert.Throws<ModelFormatException>(() => LoraAdapter.Load(dir.Path, model)).Message);
        config["use_dora"] = false;
        config["lora_alpha"] = "x"; // not silently PEFT's default 8
        File.WriteAllText(dir.File("adapter_config.json"), config.ToJsonString());
        Assert.Contains("\"lora_alpha\" must be a number", Assert.Throws<ModelFormatException>(() =>
            LoraAdapter.Load(dir.Path, model)).Message);
        config["lora_alpha"] = 16;
        config["peft_type"] = "PROMPT_TUNING";
        File.WriteAllText(dir.File("adapter_config.json"), config.ToJsonString());
        Assert.Throws<ModelFormatException>(() => LoraAdapter.Load(dir.Path, model));
    }

    [Fact]
    public void A_module_with_only_one_half_of_its_update_is_refused()
    {
        var model = FreshTinyStories().Model;
        using var dir = new TempDirectory();
        new LoraAdapter(model, new LoraOptions { Rank = 2 }).Save(dir.Path, "m");
        // drop one lora_A: its module would otherwise be skipped without a word
        var kept = new List<(string Name, int[] Shape, ReadOnlyMemory<float> Data)>();
        string? dropped = null;
        var file = SafeTensorsFile.Open(dir.File("adapter_model.safetensors"));
        foreach (var name in file.Names.Order(StringComparer.Ordinal))
        {
            if (dropped is null && name.EndsWith(".lora_A.weight")) { dropped = name; continue; }
            kept.Add((name, file.Info(name).Shape, file.ReadFloat32(name)));
        }
        SafeTensorsWriter.Write(dir.File("adapter_model.safetensors"), kept);
        var error = Assert.Throws<ModelFormatException>(() => LoraAdapter.Load(dir.Path, model)).Message;
        Assert.Contains("lora_B but no lora_A", error);
        Assert.Contains(dropped![AdapterFiles.PeftPrefix.Length..^".lora_A.weight".Length], error);
    }

    [Theory]
    [InlineData(Architecture.Llama)]
    [InlineData(Architecture.Gpt2)]
    public void Merged_weights_give_the_outputs_of_the_unmerged_adapter(Architecture architecture)
    {
        var model = TinyRandom(architecture);
        var lora = new LoraAdapter(model, new LoraOptions { Rank = 3, TargetModules = architecture == Architecture.Llama
            ? ["q_proj", "v_proj", "down_proj"] : ["c_attn", "c_proj"] });
        Perturb(lora, range: 0.3f);
        var ids = new[] { 1, 5, 9, 2, 30, 7, 7, 3, 12, 0, 4, 4 };
        float[] Run(ILayerHooks? hooks)
        {
            var tape = new Tape(recording: false);
            return model.Forward(tape, new ForwardInput { Batch = 2, Length = 6, TokenIds = ids, Hooks = hooks })
                .ToArray();
        }
        var frozen = Run(null);
        var unmerged = Run(lora.Hooks([0, 0]));
        lora.Merge();
        Assert.True(Compare.MaxRelativeError(Run(null), unmerged) < 1e-5);
        Assert.True(Compare.MaxRelativeError(Run(lora.Hooks([0, 0])), unmerged) < 1e-5,
            "merged: the hooks add nothing more");
        Assert.True(Compare.MaxRelativeError(frozen, unmerged) > 1e-2, "the update should matter");
    }
}
