using SoftPrompt.Models;
using SoftPrompt.Tests.Support;
using SoftPrompt.Tuning;
using SoftPrompt.Tuning.Ia3;
using SoftPrompt.Tuning.Lora;
using Xunit;
using static SoftPrompt.Tests.Tuning.LayerAdapterKit;

namespace SoftPrompt.Tests.Tuning;

/// <summary>Each model file declares what its parameters are; methods find parts through those roles. Checked here
/// against the Hugging Face names, family by family, and against PEFT's default target modules.</summary>
public class ModelLayoutTests
{
    public static TheoryData<string> AllFamilies => new([.. Families, "bert"]);

    private static TransformerModel Model(string family) =>
        family == "bert" ? TinyBert.Build(["a tiny corpus of words", "more words here"]).Model : TinyRandom(family);

    [Theory]
    [MemberData(nameof(AllFamilies))]
    public void Every_parameter_declares_a_role_that_agrees_with_its_name_and_block(string family)
    {
        var model = Model(family);
        foreach (var p in model.Parameters)
        {
            Assert.True(p.Role != ParameterRole.None, $"{family}: {p.Name} declares no role");
            Assert.Equal(p.Name.EndsWith(".bias"), p.Is(ParameterRole.Bias));
            var parts = p.Name.Split('.');
            int? layer = Enumerable.Range(0, parts.Length - 1)
                .Where(i => parts[i] is "layers" or "h" or "layer" && int.TryParse(parts[i + 1], out _))
                .Select(i => (int?)int.Parse(parts[i + 1])).FirstOrDefault();
            Assert.True(layer == p.Layer, $"{family}: {p.Name} says layer {p.Layer}, its name {layer}");
            if (p.Is(ParameterRole.Norm | ParameterRole.FinalNorm) && !p.Is(ParameterRole.Bias))
                Assert.True(p.Tensor.Rank == 1, $"{family}: {p.Name} is a norm gain of rank {p.Tensor.Rank}");
        }
        Assert.Single(model.Parameters, p => p.Is(ParameterRole.TokenEmbedding));
        for (int layer = 0; layer < model.Config.NumLayers; layer++)
            foreach (var role in new[] { ParameterRole.Query, ParameterRole.Key, ParameterRole.Value,
                ParameterRole.AttentionOutput, ParameterRole.MlpDown })
                Assert.Contains(ModelLayout.BlockMatrices(model), p => p.Layer == layer && p.Is(role));
    }

    [Theory]
    [InlineData("gpt2", "c_attn", "c_attn,mlp.c_proj", "mlp.c_proj", "attn")]
    [InlineData("llama", "q_proj,v_proj", "k_proj,v_proj,down_proj", "down_proj", "self_attn")]
    [InlineData("qwen3", "q_proj,v_proj", "k_proj,v_proj,down_proj", "down_proj", "self_attn")]
    [InlineData("phi3", "qkv_proj", "qkv_proj,down_proj", "down_proj", "self_attn")]
    [InlineData("gemma3_text", "q_proj,v_proj", "k_proj,v_proj,down_proj", "down_proj", "self_attn")]
    [InlineData("gpt_neox", "query_key_value", "query_key_value,dense_4h_to_h", "dense_4h_to_h", "attention")]
    public void Defaults_found_by_role_are_written_with_PEFTs_module_names(string family, string lora, string ia3,
        string ia3FeedForward, string attention)
    {
        var model = TinyRandom(family);
        var loraModules = new LoraAdapter(model, new LoraOptions()).Updates.Select(u => u.Module).ToList();
        Assert.Equal(lora, string.Join(",", ModelLayout.TargetNames(model, loraModules)));
        var ia3Adapter = new Ia3Adapter(model);
        Assert.Equal(ia3, string.Join(",", ModelLayout.TargetNames(model, ia3Adapter.Scales.Select(s => s.Module)
            .ToList())));
        Assert.Equal(ia3FeedForward,
            string.Join(",", ModelLayout.TargetNames(model, ia3Adapter.Scales.Where(s => s.FeedForward).Select(s =>
            s.Module).ToList())));
        Assert.EndsWith("." + attention, ModelLayout.AttentionModule(model, 1));
    }

    [Fact]
    public void A_target_name_never_catches_a_module_outside_the_set()
    {
        var model = TinyRandom("gpt2");
        // GPT-2's MLP output is "…mlp.c_proj" and its attention output "…attn.c_proj": "c_proj" alone would take both.
        var mlpOutputs = ModelLayout.Modules(model, ParameterRole.MlpDown);
        Assert.Equal(["mlp.c_proj"], ModelLayout.TargetNames(model, mlpOutputs));
        var bert = Model("bert");
        // BERT's feed-forward output "…layer.0.output.dense" against its attention's "…layer.0.attention.output.dense"
        Assert.Equal(["0.output.dense", "1.output.dense"], ModelLayout.TargetNames(bert, ModelLayout.Modules(bert,
            ParameterRole.MlpDown)));
    }
}
