using System.Text.Json;
using SoftPrompt.Engine.IO;
using SoftPrompt.Models;

namespace SoftPrompt.Tuning;

/// <summary>The kinds of frozen model a tuning method can adapt: causal decoders (GPT-2, LLaMA), which read a label
/// as the next tokens; bidirectional encoders (BERT), which read it at a [MASK] or through a head; T5
/// encoder-decoders, whose decoder writes the label word; and vision transformers, read through a new head.</summary>
[Flags]
public enum ModelFamilies
{
    Decoder = 1,
    Encoder = 2,
    Both = Decoder | Encoder,
    EncoderDecoder = 4,
    Vision = 8,
}

public static class ModelFamily
{
    public static ModelFamilies Of(TransformerModel model) => model.IsCausal ? ModelFamilies.Decoder
        : ModelFamilies.Encoder;

    /// <summary>The family of the model stored at <paramref name="path"/>, from its config.json's model_type, before
    /// anything is loaded: each family loads through its own reader. A TinyStories .bin file is a decoder; a path
    /// without a config is left to the loader to refuse.</summary>
    public static ModelFamilies OfStoredModel(string path)
    {
        string config = Path.Combine(path, "config.json");
        if (!File.Exists(config)) return ModelFamilies.Decoder;
        using var document = JsonFile.Load(config, maxBytes: AdapterFiles.MaxConfigBytes);
        var root = document.RootElement;
        string modelType = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("model_type", out var type)
            && type.ValueKind == JsonValueKind.String ? type.GetString()! : "";
        return modelType switch
        {
            "t5" => ModelFamilies.EncoderDecoder,
            "vit" => ModelFamilies.Vision,
            "bert" => ModelFamilies.Encoder,
            _ => ModelFamilies.Decoder,
        };
    }

    /// <summary>"a causal language model (GPT-2, LLaMA)", "a BERT encoder", …, as error messages say it; several
    /// families are named in one list.</summary>
    public static string Describe(ModelFamilies family)
    {
        var names = Enum.GetValues<ModelFamilies>().Where(f => f != ModelFamilies.Both && (family & f) == f)
            .Select(f => f switch
            {
                ModelFamilies.Decoder => "a causal language model (GPT-2, LLaMA)",
                ModelFamilies.Encoder => "a BERT encoder",
                ModelFamilies.EncoderDecoder => "a T5 encoder-decoder",
                _ => "a vision transformer (ViT)",
            }).ToList();
        return names.Count <= 1 ? names.FirstOrDefault() ?? "no model"
            : string.Join(", ", names.Take(names.Count - 1)) + " or " + names[^1];
    }
}
