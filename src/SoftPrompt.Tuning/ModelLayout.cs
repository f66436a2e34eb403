using SoftPrompt.Models;

namespace SoftPrompt.Tuning;

/// <summary>Where each architecture keeps its layers' parts, in the Hugging Face names adapter files refer to.</summary>
public static class ModelLayout
{
    /// <summary>"model.layers.3.mlp...", "transformer.h.3.attn..." or "bert.encoder.layer.3..." → 3; null outside the layer stack.</summary>
    public static int? LayerOf(string parameterName)
    {
        var parts = parameterName.Split('.');
        for (int i = 0; i + 1 < parts.Length; i++)
            if ((parts[i] is "layers" or "h" or "layer") && int.TryParse(parts[i + 1], out int layer)) return layer;
        return null;
    }

    /// <summary>A weight of a language-model head that is not part of the encoder or decoder stack: a BERT's MLM head
    /// ("cls.predictions…") or an untied "lm_head.weight" (GPT-NeoX: "embed_out.weight"). A task head that reads the hidden states never uses them.</summary>
    public static bool IsLanguageModelHead(string parameterName) =>
        parameterName.StartsWith("cls.", StringComparison.Ordinal) || parameterName is "lm_head.weight" or "embed_out.weight";

    /// <summary>The attention module of a layer, as PEFT's target_modules and tensor names call it.</summary>
    public static string AttentionModule(Architecture architecture, int layer) => architecture switch
    {
        Architecture.Llama or Architecture.Gemma3 => $"model.layers.{layer}.self_attn",
        Architecture.Gpt2 => $"transformer.h.{layer}.attn",
        Architecture.GptNeoX => $"gpt_neox.layers.{layer}.attention",
        Architecture.Bert => $"bert.encoder.layer.{layer}.attention.self",
        _ => throw new NotSupportedException($"No module layout for {architecture}."),
    };
}
