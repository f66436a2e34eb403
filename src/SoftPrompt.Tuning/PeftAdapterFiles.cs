using System.Text.Json;
using System.Text.Json.Nodes;
using SoftPrompt.Engine.IO;

namespace SoftPrompt.Tuning;

/// <summary>
/// What every PEFT adapter directory shares, whatever the method: adapter_config.json naming the peft_type beside
/// adapter_model.safetensors. Each method's files class (PromptAdapterFiles, PrefixAdapterFiles, …) adds its own keys.
/// </summary>
public static class PeftAdapterFiles
{
    public const string ConfigFile = "adapter_config.json", WeightsFile = "adapter_model.safetensors";

    /// <summary>Writes the config last and atomically: its presence is what says the directory is complete, so the
    /// weights and any files of our own must already be in place.</summary>
    public static void WriteConfig(string directory, JsonObject config)
    {
        string temporary = Path.Combine(directory, ConfigFile + ".tmp");
        File.WriteAllText(temporary, config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        File.Move(temporary, Path.Combine(directory, ConfigFile), overwrite: true);
    }

    /// <summary>The config's root object, after checking it is of <paramref name="peftType"/>.</summary>
    public static JsonElement ReadConfig(string directory, string peftType)
    {
        string path = Path.Combine(directory, ConfigFile);
        using var doc = JsonFile.Load(path);
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object) throw new ModelFormatException(path, $"expected a JSON object, found {JsonFile.Describe(root)}.");
        string type = root.TryGetProperty("peft_type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()! : "";
        if (type != peftType) throw new ModelFormatException(path, $"peft_type is \"{type}\", not {peftType}.");
        return root.Clone();
    }
}
