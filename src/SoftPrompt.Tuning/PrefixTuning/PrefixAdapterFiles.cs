using System.Text.Json;
using System.Text.Json.Nodes;
using SoftPrompt.Engine.IO;
using SoftPrompt.Models;

namespace SoftPrompt.Tuning.PrefixTuning;

/// <summary>
/// A prefix-tuning adapter directory in PEFT's PREFIX_TUNING layout: adapter_config.json and adapter_model.safetensors
/// holding prompt_embeddings [p, layers·2·token_dim], the final prefix (MLP applied), which PEFT views as
/// [batch, p, layers·2, heads, head_dim] and permutes so that slot 2l is layer l's key and 2l+1 its value — exactly our
/// row order. With grouped-query attention, token_dim is the key/value width (kv heads · head_dim) and
/// num_attention_heads the number of key/value heads, as PEFT itself records them for such models (peft #1901).
/// Besides PEFT's files, ours: the reparameterisation MLP and P′, which PEFT drops at save (peft #1247), so training
/// can resume with it; and, for a layer subset, which layers — a prefix on some layers only has no PEFT equivalent, and
/// its prompt_embeddings then hold only those layers, so PEFT refuses the directory rather than misplace them.
/// A directory PEFT wrote loads as the direct (non-reparameterised) form. A T5's prefix (task_type SEQ_2_SEQ_LM) holds
/// the encoder's self-attention layers, then the decoder's, in PEFT's file shape but not PEFT's meaning (PEFT feeds a
/// seq2seq prefix to the decoder's past key/values only); only softprompt reads it.
/// </summary>
public static class PrefixAdapterFiles
{
    public const string TensorName = "prompt_embeddings";
    public const string EncoderFile = "softprompt_prefix_encoder.safetensors",
        LayersFile = "softprompt_prefix_layers.json";

    public static void Save(string directory, PrefixAdapter adapter, string baseModel)
    {
        Directory.CreateDirectory(directory);
        SafeTensorsWriter.Write(Path.Combine(directory, AdapterFiles.WeightsFile),
            new[] { (TensorName, new[] { adapter.VirtualTokens, adapter.Width },
                (ReadOnlyMemory<float>)adapter.FinalRows()) },
            metadata: new Dictionary<string, string> { ["format"] = "pt" });
        string encoderPath = Path.Combine(directory, EncoderFile), layersPath = Path.Combine(directory, LayersFile);
        // A re-save into the same directory must not leave files of another form behind.
        if (adapter.Mlp is not null) SafeTensorsWriter.Write(encoderPath, adapter.Mlp.Tensors);
        else File.Delete(encoderPath);
        if (!IsAllLayers(adapter)) File.WriteAllText(layersPath,
            new JsonObject { ["layers"] = new JsonArray(adapter.Layers.Select(l => (JsonNode)l)
            .ToArray()) }.ToJsonString());
        else File.Delete(layersPath);
        AdapterFiles.WriteConfig(directory, new JsonObject
        {
            ["peft_type"] = "PREFIX_TUNING",
            ["task_type"] = adapter.TaskType,
            ["num_virtual_tokens"] = adapter.VirtualTokens,
            ["token_dim"] = adapter.KvWidth,
            ["num_layers"] = adapter.ModelLayers,
            ["num_attention_heads"] = adapter.KvHeads,
            ["num_transformer_submodules"] = 1,
            ["encoder_hidden_size"] = adapter.Mlp?.HiddenWeight.Dim(0) ?? adapter.KvWidth,
            ["prefix_projection"] = adapter.Mlp is not null,
            ["base_model_name_or_path"] = baseModel,
            ["inference_mode"] = true,
            ["revision"] = null,
        });
    }

    /// <summary>Loads the adapter for <paramref name="model"/>: reparameterised when our MLP file is there, else
    /// direct.</summary>
    public static PrefixAdapter Load(string directory, ModelConfig model)
    {
        var config = AdapterFiles.ReadConfig(directory, "PREFIX_TUNING");
        string configPath = Path.Combine(directory, AdapterFiles.ConfigFile);
        int Int(string key, int? otherwise = null)
        {
            if (config.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Number
                && v.TryGetInt32(out int n)) return n;
            if (otherwise is int fallback && (!config.TryGetProperty(key, out v) || v.ValueKind == JsonValueKind.Null))
                return fallback;
            throw new ModelFormatException(configPath, $"\"{key}\" must be an integer.");
        }
        void Expect(string key, int actual, int expected, string why)
        {
            if (actual != expected) throw new ModelFormatException(configPath,
                $"{key} is {actual}, but the model has {expected} ({why}).");
        }
        int p = Int("num_virtual_tokens");
        if (p < 1) throw new ModelFormatException(configPath, $"num_virtual_tokens must be at least 1 (got {p}).");
        Expect("num_layers", Int("num_layers"), model.NumLayers, "layers");
        Expect("token_dim", Int("token_dim"), model.KvWidth, "key/value width = key/value heads · head dim");
        Expect("num_attention_heads", Int("num_attention_heads"), model.KvHeads, "key/value heads");
        Expect("num_transformer_submodules", Int("num_transformer_submodules", 1), 1, "a decoder-only model");

        int[] layers = ReadLayers(Path.Combine(directory, LayersFile), model.NumLayers);
        int width = layers.Length * 2 * model.KvWidth;
        string weightsPath = Path.Combine(directory, AdapterFiles.WeightsFile);
        var weights = SafeTensorsFile.Open(weightsPath);
        if (!weights.Contains(TensorName)) throw new ModelFormatException(weightsPath,
            $"no tensor named {TensorName}.");
        var shape = weights.Info(TensorName).Shape;
        if (shape.Length != 2 || shape[0] != p || shape[1] != width)
            throw new ModelFormatException(weightsPath,
                $"{TensorName} has shape [{string.Join(", ", shape)}]; expected [{p}, {width}] " +
                $"(num_virtual_tokens, {layers.Length} layers · 2 · {model.KvWidth}).");

        string encoderPath = Path.Combine(directory, EncoderFile);
        if (!File.Exists(encoderPath)) return PrefixAdapter.Direct(model, layers, weights.ReadFloat32(TensorName), p);
        var encoder = SafeTensorsFile.Open(encoderPath);
        string hiddenName = PrefixMlp.NamePrefix + "transform.0.weight";
        if (!encoder.Contains(hiddenName)) throw new ModelFormatException(encoderPath,
            $"no tensor named {hiddenName}.");
        var adapter = PrefixAdapter.Reparameterized(model, layers, p, encoder.Info(hiddenName).Shape[0]);
        foreach (var t in adapter.Mlp!.Tensors)
        {
            if (!encoder.Contains(t.Name!)) throw new ModelFormatException(encoderPath, $"no tensor named {t.Name}.");
            encoder.ReadFloat32(t.Name!, t.Span, t.Shape);
        }
        return adapter;
    }

    private static bool IsAllLayers(PrefixAdapter adapter) => adapter.Layers.Count == adapter.ModelLayers;

    private static int[] ReadLayers(string path, int numLayers)
    {
        if (!File.Exists(path)) return Enumerable.Range(0, numLayers).ToArray();
        using var doc = JsonFile.Load(path, maxBytes: 1 << 16);
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("layers", out var list)
            || list.ValueKind != JsonValueKind.Array)
            throw new ModelFormatException(path, "expected {\"layers\": [ascending layer indices]}.");
        var layers = list.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out int l)
            ? l : -1).ToArray();
        for (int i = 0; i < layers.Length; i++)
            if (layers[i] < 0 || layers[i] >= numLayers || (i > 0 && layers[i] <= layers[i - 1]))
                throw new ModelFormatException(path,
                    $"layers must be ascending indices below the model's {numLayers} layers (got " +
                    $"[{string.Join(", ", layers)}]).");
        if (layers.Length == 0) throw new ModelFormatException(path, "the list of layers is empty.");
        return layers;
    }
}
