using SoftPrompt.Engine;

namespace SoftPrompt.Training.Pretraining;

/// <summary>A base model's size for pretraining from scratch: vocabulary, width, blocks, heads, key/value heads, MLP
/// width and context.</summary>
public sealed record ModelPreset(int Vocab, int Width, int Layers, int Heads, int KvHeads, int Ffn, int Context);

/// <summary>The sizes `softprompt pretrain --preset` knows. mini, compact and small share a vocabulary and context:
/// with one tokenizer they are the rungs of the scale ladder (reports/promptable-base).</summary>
public static class ModelPresets
{
    public static IReadOnlyDictionary<string, ModelPreset> All { get; } = new Dictionary<string, ModelPreset>
    {
        ["tiny"] = new(2048, 64, 2, 4, 2, 172, 128),
        ["mini"] = new(8192, 128, 4, 4, 2, 344, 256),
        ["compact"] = new(8192, 192, 5, 6, 3, 512, 256),
        ["small"] = new(8192, 256, 6, 8, 4, 688, 256),
        ["medium"] = new(8192, 384, 8, 8, 4, 1024, 256),
    };

    public static ModelPreset Find(string name) => All.GetValueOrDefault(name)
        ?? throw new OptionException("Preset", $"'{name}' is not known (known: {string.Join(", ", All.Keys)}).");
}
