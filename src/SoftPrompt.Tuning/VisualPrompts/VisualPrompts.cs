using SoftPrompt.Engine;
using SoftPrompt.Engine.Autograd;
using SoftPrompt.Engine.IO;
using SoftPrompt.Models;

namespace SoftPrompt.Tuning.VisualPrompts;

/// <summary>
/// Visual prompt tuning (Jia et al. 2022): <see cref="Tokens"/> learned rows placed right after CLS. Before layer 0
/// they are inserted; before each layer 1..<see cref="Layers"/>−1 that layer's own prompts replace the rows the
/// previous layer computed at those positions; later layers carry the last prompts' outputs along like any token.
/// Layers = 1 is VPT-shallow, Layers = every layer VPT-deep, Layers = 0 leaves the model untouched. Prompts
/// (Layers·Tokens, D).
/// </summary>
public sealed class VisualPrompts : IVitLayerInput
{
    private const string TensorName = "vpt.prompts";

    public VisualPrompts(int tokens, int layers, VitConfig config, int seed = 1)
    {
        if (tokens < 1) throw new ArgumentException($"VPT needs at least one prompt token (got {tokens}).");
        if (layers < 0 || layers > config.NumLayers)
            throw new ArgumentException($"VPT prompts can go into 0..{config.NumLayers} layers, not {layers}.");
        Tokens = tokens;
        Layers = layers;
        Prompts = Tensor.Parameter([layers * tokens, config.HiddenSize], trainable: true, TensorName);
        // The paper's init: Xavier-uniform over (patch width, D), as if a prompt were one more patch embedding.
        RandomInit.Uniform(Prompts, new Random(seed), MathF.Sqrt(6f / (config.PatchWidth + config.HiddenSize)));
    }

    public int Tokens { get; }
    public int Layers { get; }
    public Tensor Prompts { get; }

    public Tensor LayerInput(Tape tape, int layer, Tensor hidden)
    {
        if (layer >= Layers) return hidden;
        int batch = hidden.Dim(0), length = hidden.Dim(1);
        // Every image gets the same rows: a lookup of this layer's rows, whose backward sums over the batch.
        var ids = new int[batch * Tokens];
        for (int i = 0; i < ids.Length; i++) ids[i] = layer * Tokens + i % Tokens;
        var prompts = Fn.Embedding(tape, Prompts, ids, batch, Tokens);
        int kept = layer == 0 ? 1 : 1 + Tokens;
        return Fn.Concat(tape, 1, Fn.Slice(tape, hidden, 1, 0, 1), prompts, Fn.Slice(tape, hidden, 1, kept,
            length - kept));
    }

    public void Save(string path) =>
        SafeTensorsWriter.Write(path, [Prompts], metadata: new Dictionary<string, string>
        {
            ["format"] = "pt", ["tokens"] = Tokens.ToString(), ["layers"] = Layers.ToString(),
        });

    public static VisualPrompts Load(string path, VitConfig config)
    {
        var file = SafeTensorsFile.Open(path);
        int Number(string key) => file.Metadata.TryGetValue(key, out var text) && int.TryParse(text, out int n)
            ? n : throw new ModelFormatException(path, $"its metadata has no integer \"{key}\".");
        int tokens = Number("tokens"), layers = Number("layers");
        if (!file.Contains(TensorName)) throw new ModelFormatException(path, $"no tensor named {TensorName}.");
        // The stored shape is checked before anything is allocated for it: the metadata may be corrupt too.
        var shape = file.Info(TensorName).Shape;
        if (shape.Length != 2 || shape[1] != config.HiddenSize || (long)tokens * layers != shape[0])
            throw new ModelFormatException(path,
                $"{TensorName} has shape [{string.Join(", ", shape)}], not {layers} layers × {tokens} tokens of " +
                $"width {config.HiddenSize}.");
        VisualPrompts prompts;
        try { prompts = new VisualPrompts(tokens, layers, config); }
        catch (ArgumentException e) { throw new ModelFormatException(path, e.Message, e); }
        file.ReadFloat32(TensorName, prompts.Prompts.Span, prompts.Prompts.Shape);
        return prompts;
    }
}
