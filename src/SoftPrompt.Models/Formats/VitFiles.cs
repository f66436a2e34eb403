using System.Text.Json;
using SoftPrompt.Engine.IO;

namespace SoftPrompt.Models.Formats;

/// <summary>
/// A ViT as a Hugging Face folder: config.json (model_type "vit", ViTConfig's keys, id2label) and model.safetensors
/// under ViTForImageClassification's parameter names, in F32.
/// </summary>
public static class VitFiles
{
    public const string ConfigFile = "config.json";
    public const string WeightsFile = "model.safetensors";

    /// <param name="dtype">Shipped models are stored as bfloat16 (half the bytes; loading widens them to
    /// float32).</param>
    public static void Save(Vit model, string directory, SafeTensorsDType dtype = SafeTensorsDType.BF16)
    {
        Directory.CreateDirectory(directory);
        var c = model.Config;
        var config = new Dictionary<string, object>
        {
            ["architectures"] = new[] { "ViTForImageClassification" },
            ["model_type"] = "vit",
            ["image_size"] = c.ImageSize,
            ["patch_size"] = c.PatchSize,
            ["num_channels"] = c.Channels,
            ["hidden_size"] = c.HiddenSize,
            ["num_hidden_layers"] = c.NumLayers,
            ["num_attention_heads"] = c.NumHeads,
            ["intermediate_size"] = c.IntermediateSize,
            ["hidden_act"] = "gelu_new",
            ["layer_norm_eps"] = c.NormEps,
            ["qkv_bias"] = true,
            ["id2label"] = c.Labels.Select((label, i) => (label, i)).ToDictionary(x => x.i.ToString(), x => x.label),
            ["label2id"] = c.Labels.Select((label, i) => (label, i)).ToDictionary(x => x.label, x => x.i),
            ["torch_dtype"] = dtype == SafeTensorsDType.BF16 ? "bfloat16" : "float32",
        };
        File.WriteAllText(Path.Combine(directory, ConfigFile), JsonSerializer.Serialize(config,
            new JsonSerializerOptions { WriteIndented = true }) + "\n");
        SafeTensorsWriter.Write(Path.Combine(directory, WeightsFile), model.Parameters.Select(p => p.Tensor), dtype,
            metadata: new Dictionary<string, string> { ["format"] = "pt" });
    }

    public static Vit Load(string directory)
    {
        var config = ReadConfig(Path.Combine(directory, ConfigFile));
        string path = Path.Combine(directory, WeightsFile);
        var file = SafeTensorsFile.Open(path);
        // Checked before the model allocates its weights: a corrupt config must not ask for more than the file holds.
        if (config.ParameterCount > file.DataLength)
            throw new ModelFormatException(path,
                $"the config needs {config.ParameterCount:N0} values, but the file holds only {file.DataLength:N0} " +
                $"bytes of data.");
        var model = new Vit(config);
        foreach (var p in model.Parameters)
        {
            if (!file.Contains(p.Name)) throw new ModelFormatException(path, $"no tensor named {p.Name}.");
            file.ReadFloat32(p.Name, p.Tensor.Span, p.Tensor.Shape);
        }
        return model;
    }

    public static VitConfig ReadConfig(string path)
    {
        using var document = JsonFile.Load(path, maxBytes: 10_000_000);
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
            throw new ModelFormatException(path, $"config must be a JSON object, but it is {JsonFile.Describe(root)}.");
        ModelFormatException Error(string field, string problem) => new(path, $"field \"{field}\" {problem}");
        JsonElement Field(string name) => root.TryGetProperty(name, out var value) ? value : throw Error(name,
            "is missing.");
        int Int(string name) => Field(name) is { ValueKind: JsonValueKind.Number } v && v.TryGetInt32(out int i) ? i
            : throw Error(name, "is not an integer.");
        string? Text(string name) => root.TryGetProperty(name, out var v) ? v.ValueKind == JsonValueKind.String
            ? v.GetString() : throw Error(name, "is not a string.") : null;

        if (Text("model_type") != "vit") throw Error("model_type", "is not \"vit\".");
        if (Text("hidden_act") is string act && act != "gelu_new")
            throw Error("hidden_act", $"is \"{act}\"; our ViT has only the tanh GELU (\"gelu_new\").");
        var id2label = Field("id2label");
        if (id2label.ValueKind != JsonValueKind.Object) throw Error("id2label", "is not an object.");
        var labels = new string[id2label.EnumerateObject().Count()];
        foreach (var entry in id2label.EnumerateObject())
        {
            if (!int.TryParse(entry.Name, out int id) || id < 0 || id >= labels.Length || labels[id] is not null
                || entry.Value.ValueKind != JsonValueKind.String)
                throw Error("id2label",
                    $"has an entry \"{entry.Name}\" that is not one of the label ids 0..{labels.Length - 1} once, " +
                    $"with a name.");
            labels[id] = entry.Value.GetString()!;
        }
        var eps = Field("layer_norm_eps");
        if (eps.ValueKind != JsonValueKind.Number || !eps.TryGetSingle(out float normEps) || !(normEps > 0)
            || float.IsInfinity(normEps))
            throw Error("layer_norm_eps", "is not a positive number.");
        var config = new VitConfig
        {
            ImageSize = Int("image_size"),
            PatchSize = Int("patch_size"),
            Channels = Int("num_channels"),
            HiddenSize = Int("hidden_size"),
            NumLayers = Int("num_hidden_layers"),
            NumHeads = Int("num_attention_heads"),
            IntermediateSize = Int("intermediate_size"),
            NormEps = normEps,
            Labels = labels,
        };
        try { config.Validate(path); }
        catch (InvalidDataException e) { throw new ModelFormatException(path, e.Message, e); }
        return config;
    }
}
