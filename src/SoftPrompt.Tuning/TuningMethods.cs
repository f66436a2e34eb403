using SoftPrompt.Tuning.Baselines;
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
        new WeightSubsetMethod("bitfit", "bitfit", 1e-2f),
        new WeightSubsetMethod("ft-top2", "top-k", 1e-3f, topLayers: 2),
        new WeightSubsetMethod("ft", "full", 3e-4f),
    };

    /// <summary>Names earlier versions of `compare` used.</summary>
    private static readonly Dictionary<string, string> Aliases = new()
    {
        ["prompt-tuning"] = "prompt", ["full"] = "ft", ["top-k"] = "ft-top2",
    };

    public static TuningMethod Find(string name)
    {
        string canonical = Aliases.GetValueOrDefault(name, name);
        return All.FirstOrDefault(m => m.Name == canonical)
               ?? throw new ArgumentException($"Unknown method '{name}' (known: {string.Join(", ", All.Select(m => m.Name))}).");
    }
}
