using System.Text.Json;
using SoftPrompt.Engine.IO;
using SoftPrompt.Models;
using SoftPrompt.Tuning.Adapters;
using SoftPrompt.Tuning.PrefixTuning;
using SoftPrompt.Tuning.PromptTuning;

namespace SoftPrompt.Tuning;

/// <summary>What an adapter directory holds for inference: a soft prompt, layer hooks, or (prompt tuning never)
/// both.</summary>
public sealed record LoadedAdapter(string PeftType, PromptEmbedding? Prompt, IModelAdapter? Adapter);

/// <summary>
/// Any method's adapter directory, told apart by adapter_config.json's peft_type — PEFT's own types and ours — and
/// loaded in its inference form: a prefix's MLP is applied once here, so serving reuses the final rows for every
/// request.
/// </summary>
public static class AdapterDirectory
{
    /// <summary>adapter_config.json's peft_type, which says which method wrote the directory.</summary>
    public static string PeftTypeOf(string directory)
    {
        string configPath = Path.Combine(directory, AdapterFiles.ConfigFile);
        using var doc = JsonFile.Load(configPath, maxBytes: AdapterFiles.MaxConfigBytes);
        return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("peft_type",
            out var t) && t.ValueKind == JsonValueKind.String
            ? t.GetString()!
            : throw new ModelFormatException(configPath, "no \"peft_type\" string says which method the adapter is.");
    }

    /// <summary>A T5's adapter: a prompt on the encoder input or a prefix in its blocks, checked against the T5's
    /// fingerprint.</summary>
    public static LoadedAdapter LoadOnT5(string directory, T5 model)
    {
        PromptAdapterFiles.CheckBase(directory, PromptAdapterFiles.FingerprintOf(model.TokenEmbedding, model.Config));
        string type = PeftTypeOf(directory);
        return type switch
        {
            "PROMPT_TUNING" => new(type, PromptAdapterFiles.Load(directory, model.Config.HiddenSize), null),
            "PREFIX_TUNING" => new(type, null, PrefixAdapterFiles.Load(directory, model.AdapterConfig).ForInference(
                model.AdapterConfig)),
            _ => throw new ModelFormatException(Path.Combine(directory, AdapterFiles.ConfigFile),
                $"peft_type \"{type}\" is not one a T5 runs here (PROMPT_TUNING, PREFIX_TUNING)."),
        };
    }

    public static LoadedAdapter Load(string directory, CausalLanguageModel model)
    {
        string configPath = Path.Combine(directory, AdapterFiles.ConfigFile);
        string type = PeftTypeOf(directory);
        PromptAdapterFiles.CheckBase(directory, PromptAdapterFiles.FingerprintOf(model));
        return type switch
        {
            // The base was checked above, for every method: the prompt's own load need not read it again.
            "PROMPT_TUNING" => new(type, PromptAdapterFiles.Load(directory, model.Config.HiddenSize,
                maxRows: model.Config.MaxPositions - 1,
                peftScale: model.PeftPromptScale), null),
            "PREFIX_TUNING" => new(type, null, PrefixAdapterFiles.Load(directory, model.Config).ForInference(
                model.Config)),
            Lora.LoraAdapter.PeftType => new(type, null, Lora.LoraAdapter.Load(directory, model)),
            LlamaAdapter.LlamaAdapter.PeftType => new(type, null, LlamaAdapter.LlamaAdapter.Load(directory, model)),
            BottleneckAdapter.PeftType => new(type, null, BottleneckAdapter.Load(directory, model)),
            Ia3.Ia3Adapter.PeftType => new(type, null, Ia3.Ia3Adapter.Load(directory, model)),
            _ => throw new ModelFormatException(configPath,
                $"peft_type \"{type}\" is not one softprompt serves (PROMPT_TUNING, PREFIX_TUNING, LORA, IA3, " +
                $"ADAPTION_PROMPT, {BottleneckAdapter.PeftType}; P-tuning adapters need their task's template and " +
                    $"are evaluated with `compare`)."),
        };
    }
}
