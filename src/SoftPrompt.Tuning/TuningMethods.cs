using SoftPrompt.Tuning.Adapters;
using SoftPrompt.Tuning.Baselines;
using SoftPrompt.Tuning.Lora;
using SoftPrompt.Tuning.PrefixTuning;
using SoftPrompt.Tuning.PromptTuning;

namespace SoftPrompt.Tuning;

/// <summary>The registry: every method `softprompt compare` knows, by name.</summary>
public static class TuningMethods
{
    public static IReadOnlyList<TuningMethod> All { get; } = new TuningMethod[]
    {
        new ZeroShotMethod(),
        new FewShotMethod(),
        new PromptTuningMethod("prompt", PromptPlacement.BeforeInput),
        new PromptTuningMethod("prompt-answer", PromptPlacement.BeforeAnswer),
        new PTuning.PTuningMethod("ptuning", PTuning.PromptEncoderKind.Lstm),
        new PTuning.PTuningMethod("ptuning-mlp", PTuning.PromptEncoderKind.Mlp),
        new LayerAdapterMethod("prefix", "prefix tuning: key/value rows at every layer from an MLP (Li & Liang)",
            (model, s) => new PrefixAdapter(model.Config, new PrefixTuningOptions(s.PromptLength, Reparameterize: true, Seed: s.Seed)), 5e-3f),
        new LayerAdapterMethod("deep", "deep prompt tuning: key/value rows at every layer, trained directly (P-tuning v2)",
            (model, s) => new PrefixAdapter(model.Config, PrefixTuningOptions.DeepPrompt(s.PromptLength, seed: s.Seed)), 1e-2f),
        new LayerAdapterMethod("deep-head", "deep prompt tuning with a classification head (P-tuning v2)",
            (model, s) => new PrefixAdapter(model.Config, PrefixTuningOptions.DeepPrompt(s.PromptLength, seed: s.Seed)), 1e-2f, withHead: true),
        new LayerAdapterMethod("llama-adapter", "LLaMA-Adapter: zero-gated prompts in the top layers",
            (model, s) => new LlamaAdapter.LlamaAdapter(model, new LlamaAdapter.LlamaAdapterOptions { Length = s.PromptLength, Layers = s.TopLayers, Seed = s.Seed }), 1e-2f),
        new LayerAdapterMethod("adapter", "bottleneck adapters after each feed-forward sublayer (Houlsby), 16 wide",
            (model, s) => new BottleneckAdapter(model, new BottleneckOptions { Seed = s.Seed }), 1e-3f),
        new LayerAdapterMethod("lora", "LoRA r=8, α=16 on queries and values",
            (model, s) => new LoraAdapter(model, new LoraOptions { Seed = s.Seed }), 1e-3f),
        new HardPrompt.HardPromptMethod(),
        new LinearProbeMethod(),
        new WeightSubsetMethod("bitfit", "bitfit", 1e-2f),
        new WeightSubsetMethod("ft-top2", "top-k", 1e-3f, topLayers: 2),
        new WeightSubsetMethod("ft", "full", 3e-4f),
    };

    /// <summary>Names earlier versions of `compare` used.</summary>
    private static readonly Dictionary<string, string> Aliases = new()
    {
        ["prompt-tuning"] = "prompt", ["full"] = "ft", ["top-k"] = "ft-top2",
    };

    /// <summary>A method by name; deep-topK / deep-bottomK (P-tuning v2's ascend/descend study) and ft-topK take
    /// their k from the name.</summary>
    public static TuningMethod Find(string name)
    {
        string canonical = Aliases.GetValueOrDefault(name, name);
        if (All.FirstOrDefault(m => m.Name == canonical) is { } known) return known;
        var layered = System.Text.RegularExpressions.Regex.Match(canonical, @"^(deep|ft)-(top|bottom)(\d{1,3})$");
        if (layered.Success && int.Parse(layered.Groups[3].Value) is int k and > 0)
        {
            bool top = layered.Groups[2].Value == "top";
            if (layered.Groups[1].Value == "ft" && top) return new WeightSubsetMethod(canonical, "top-k", 1e-3f, topLayers: k);
            if (layered.Groups[1].Value == "deep")
                return new LayerAdapterMethod(canonical, $"deep prompts in the {(top ? "top" : "bottom")} {k} layers only (P-tuning v2)",
                    (model, s) => new PrefixAdapter(model.Config, PrefixTuningOptions.DeepPrompt(s.PromptLength,
                        top ? PrefixLayers.Top(k) : PrefixLayers.Bottom(k), s.Seed)), 1e-2f);
        }
        throw new ArgumentException($"Unknown method '{name}' (known: {string.Join(", ", All.Select(m => m.Name))}, deep-topK, deep-bottomK, ft-topK).");
    }
}
