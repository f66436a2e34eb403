using System.Text.Json;
using System.Text.Json.Nodes;
using SoftPrompt.Engine;
using SoftPrompt.Engine.IO;

namespace SoftPrompt.Tuning;

/// <summary>
/// The adapter directory every method writes, in PEFT's layout: adapter_config.json beside adapter_model.safetensors.
/// The config goes last, written to a temporary name and renamed, so a directory that has one has complete weights.
/// </summary>
public static class AdapterFiles
{
    public const string ConfigFile = "adapter_config.json", WeightsFile = "adapter_model.safetensors";
    /// <summary>PEFT's configs are a few hundred bytes; a large one is a mistake or an attack (parsing 50 MB of small
    /// objects costs about 1 GB).</summary>
    public const long MaxConfigBytes = 1 << 20;

    /// <summary>PEFT saves a wrapped model's tensors under this prefix: the PeftModel's base_model, then its
    /// model.</summary>
    public const string PeftPrefix = "base_model.model.";

    public const string CausalLanguageModel = "CAUSAL_LM";

    /// <summary>The fields every PEFT config carries (task_type CAUSAL_LM unless told); methods add their
    /// own.</summary>
    public static JsonObject Config(string peftType, string baseModel, string taskType = CausalLanguageModel) => new()
    {
        ["peft_type"] = peftType,
        ["task_type"] = taskType,
        ["base_model_name_or_path"] = baseModel,
        ["inference_mode"] = true,
        ["revision"] = null,
    };

    public static void Write(string directory, JsonObject config, IEnumerable<(string Name, int[] Shape,
        ReadOnlyMemory<float> Data)> tensors)
    {
        Directory.CreateDirectory(directory);
        SafeTensorsWriter.Write(Path.Combine(directory, WeightsFile), tensors, metadata: new Dictionary<string,
            string> { ["format"] = "pt" });
        WriteConfig(directory, config);
    }

    /// <summary>Writes the config last and atomically: its presence is what says the directory is complete, so the
    /// weights and any files of our own must already be in place.</summary>
    public static void WriteConfig(string directory, JsonObject config)
    {
        string temporary = Path.Combine(directory, ConfigFile + ".tmp");
        File.WriteAllText(temporary, config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        File.Move(temporary, Path.Combine(directory, ConfigFile), overwrite: true);
    }

    /// <summary>Tensors under their own names, as <see cref="Write"/> takes them.</summary>
    public static IEnumerable<(string Name, int[] Shape, ReadOnlyMemory<float> Data)> Named(IEnumerable<(string Name,
        Tensor Tensor)> tensors)
        => tensors.Select(t => (t.Name, t.Tensor.Shape, (ReadOnlyMemory<float>)t.Tensor.ToArray()));

    /// <summary>The config's root object, after checking that it is of the expected
    /// <paramref name="peftType"/>.</summary>
    public static JsonElement ReadConfig(string directory, string peftType)
    {
        string path = Path.Combine(directory, ConfigFile);
        using var doc = JsonFile.Load(path, maxBytes: MaxConfigBytes);
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object) throw new ModelFormatException(path,
            $"expected a JSON object, found {JsonFile.Describe(root)}.");
        string type = root.TryGetProperty("peft_type", out var t) && t.ValueKind == JsonValueKind.String
            ? t.GetString()! : "";
        if (type != peftType) throw new ModelFormatException(path, $"peft_type is \"{type}\", not {peftType}.");
        return root.Clone();
    }

    public static int RequiredInt(JsonElement config, string directory, string field)
        => config.TryGetProperty(field, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int n)
            ? n
            : throw new ModelFormatException(Path.Combine(directory, ConfigFile), $"\"{field}\" must be an integer.");

    public static SafeTensorsFile OpenWeights(string directory) => SafeTensorsFile.Open(Path.Combine(directory,
        WeightsFile));

    /// <summary>The modules a weights file holds "base_model.model.&lt;module&gt;&lt;suffix&gt;" tensors for, in order;
    /// refused when there are none or one names a projection <paramref name="model"/> does not have.</summary>
    public static List<string> Modules(SafeTensorsFile file, string suffix, Models.TransformerModel model,
        string method)
    {
        var modules = file.Names.Where(n => n.StartsWith(PeftPrefix) && n.EndsWith(suffix))
            .Select(n => n[PeftPrefix.Length..^suffix.Length]).Order(StringComparer.Ordinal).ToList();
        if (modules.Count == 0) throw new ModelFormatException(file.SourcePath,
            $"no {PeftPrefix}<module>{suffix} tensors.");
        var known = model.Parameters.Select(p => p.Name).ToHashSet();
        foreach (var module in modules)
            if (!known.Contains(module + ".weight"))
                throw new ModelFormatException(file.SourcePath,
                    $"{method} tensors for {module}, which the model does not have.");
        return modules;
    }
}
