using SoftPrompt.Models;
using SoftPrompt.Tuning.Adapters;
using SoftPrompt.Tuning.Baselines;
using SoftPrompt.Tuning.Lora;
using SoftPrompt.Tuning.PrefixTuning;
using SoftPrompt.Tuning.PromptTuning;

namespace SoftPrompt.Tuning;

/// <summary>The registry: every method by name, for every command and model family (`compare`, `tune --method`,
/// `t5 compare`, `vit compare`); <see cref="For"/> lists those that fit a family.</summary>
public static class TuningMethods
{
    public static IReadOnlyList<TuningMethod> All { get; } = new TuningMethod[]
    {
        new BagOfWords.BagOfWordsMethod(),
        new ZeroShotMethod(),
        new FewShotMethod(),
        new PromptTuningMethod("prompt", PromptPlacement.BeforeInput),
        new PromptTuningMethod("prompt-answer", PromptPlacement.BeforeAnswer),
        new PTuning.PTuningMethod("ptuning", PTuning.PromptEncoderKind.Lstm),
        new PTuning.PTuningMethod("ptuning-mlp", PTuning.PromptEncoderKind.Mlp),
        new LayerAdapterMethod("prefix", "prefix tuning: key/value rows at every layer from an MLP (Li & Liang)",
            (model, s) => new PrefixAdapter(model.Config, new PrefixTuningOptions(s.PromptLength, Reparameterize: true,
                Seed: s.Seed)), 5e-3f, ModelFamilies.Both,
            createOnT5: (t5, s) => new PrefixAdapter(t5.AdapterConfig, new PrefixTuningOptions(s.PromptLength,
                Reparameterize: true, Seed: s.Seed)) { TaskType = PromptAdapterFiles.SequenceToSequence }),
        new LayerAdapterMethod("deep",
            "deep prompt tuning: key/value rows at every layer, trained directly (P-tuning v2)",
            (model, s) => new PrefixAdapter(model.Config, PrefixTuningOptions.DeepPrompt(s.PromptLength, seed: s.Seed)),
            1e-2f, ModelFamilies.Both),
        new LayerAdapterMethod("deep-head", "deep prompt tuning with a classification head (P-tuning v2)",
            (model, s) => new PrefixAdapter(model.Config, PrefixTuningOptions.DeepPrompt(s.PromptLength, seed: s.Seed)),
            1e-2f, ModelFamilies.Both, withHead: true),
        new LayerAdapterMethod("llama-adapter", "LLaMA-Adapter: zero-gated prompts in the top layers",
            // Decoders only: Prepare refuses an encoder before this runs.
            (model, s) => new LlamaAdapter.LlamaAdapter((CausalLanguageModel)model,
                new LlamaAdapter.LlamaAdapterOptions { Length = s.PromptLength, Layers = s.TopLayers, Seed = s.Seed }),
                1e-2f,
            ModelFamilies.Decoder),
        new LayerAdapterMethod("adapter", "bottleneck adapters after each feed-forward sublayer (Houlsby), 16 wide",
            (model, s) => new BottleneckAdapter(model, new BottleneckOptions { Seed = s.Seed }), 1e-3f,
            ModelFamilies.Both),
        new LayerAdapterMethod("lora", "LoRA r=8, α=16 on queries and values",
            (model, s) => new LoraAdapter(model, new LoraOptions { Seed = s.Seed }), 1e-3f, ModelFamilies.Both),
        new LayerAdapterMethod("ia3", "(IA)³: learned vectors rescaling keys, values and the feed-forward activation",
            (model, s) => new Ia3.Ia3Adapter(model), 3e-2f, ModelFamilies.Both),
        new HardPrompt.HardPromptMethod(),
        new LinearProbeMethod(),
        new VisualPrompts.VisualPromptMethod("vpt-shallow", 1,
            "VPT-shallow: prompts inserted after CLS at the input + head (Jia et al.)"),
        new VisualPrompts.VisualPromptMethod("vpt-deep", -1, "VPT-deep: new prompts at every layer's input + head"),
        new WeightSubsetMethod("bitfit", "bitfit", 1e-2f),
        new WeightSubsetMethod("ft-top2", "top-k", 1e-3f, topLayers: 2),
        new WeightSubsetMethod("ft", "full", 3e-4f),
    };

    /// <summary>Names earlier versions of `compare` used.</summary>
    private static readonly Dictionary<string, string> Aliases = new()
    {
        ["prompt-tuning"] = "prompt", ["prompt_tuning"] = "prompt", ["full"] = "ft", ["top-k"] = "ft-top2",
        ["linear"] = "probe",
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
            if (layered.Groups[1].Value == "ft" && top) return new WeightSubsetMethod(canonical, "top-k", 1e-3f,
                topLayers: k);
            if (layered.Groups[1].Value == "deep")
                return new LayerAdapterMethod(canonical,
                    $"deep prompts in the {(top ? "top" : "bottom")} {k} layers only (P-tuning v2)",
                    (model, s) => new PrefixAdapter(model.Config, PrefixTuningOptions.DeepPrompt(s.PromptLength,
                        top ? PrefixLayers.Top(k) : PrefixLayers.Bottom(k), s.Seed)), 1e-2f, ModelFamilies.Both);
        }
        throw new ArgumentException(
            $"Unknown method '{name}' (known: {string.Join(", ", All.Select(m => m.Name))}, deep-topK, deep-bottomK, " +
            $"ft-topK).");
    }

    /// <summary>A method by name that runs on <paramref name="family"/>; one that does not is refused with the ones
    /// that do.</summary>
    public static TuningMethod Find(string name, ModelFamilies family)
    {
        var method = Find(name);
        return method.Supports(family) ? method : throw new NotSupportedException(Unsupported(method, family));
    }

    /// <summary>The methods that run on <paramref name="family"/>, in the registry's order.</summary>
    public static IReadOnlyList<TuningMethod> For(ModelFamilies family) => All.Where(m => m.Supports(family)).ToList();

    /// <summary>What `compare` runs when no --methods are given: on a decoder the prompt-design, prompt-tuning and
    /// fine-tuning baselines; on an encoder every method that runs on one.</summary>
    public static IReadOnlyList<TuningMethod> Defaults(ModelFamilies family) => family == ModelFamilies.Decoder
        ? new[] { "bow", "zero-shot", "few-shot", "prompt", "bitfit", "ft-top2", "ft" }.Select(Find).ToList()
        : For(family);

    /// <summary>The one-line refusal of a method on a model family it does not support.</summary>
    public static string Unsupported(TuningMethod method, ModelFamilies family) =>
        $"Method '{method.Name}' does not run on {ModelFamily.Describe(family)}: it needs " +
            $"{ModelFamily.Describe(method.Families)}. " +
        $"Methods for {ModelFamily.Describe(family)}: " +
            $"{string.Join(", ", For(family).Select(m => m.Name))}.";
}
