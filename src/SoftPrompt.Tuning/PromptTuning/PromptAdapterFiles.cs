using System.Text.Json;
using System.Text.Json.Nodes;
using SoftPrompt.Engine;
using SoftPrompt.Engine.IO;

namespace SoftPrompt.Tuning.PromptTuning;

/// <summary>
/// A prompt-tuning adapter directory as PEFT writes it: adapter_config.json (peft_type PROMPT_TUNING) and
/// adapter_model.safetensors holding prompt_embeddings [p, d]. PEFT-written adapters load too.
/// </summary>
public static class PromptAdapterFiles
{
    public const string ConfigFile = AdapterFiles.ConfigFile, WeightsFile = AdapterFiles.WeightsFile,
        TensorName = "prompt_embeddings";
    /// <summary>Our own addition (PEFT ignores it): which task the prompt was trained for and its definition, the
    /// base's fingerprint, and where the prompt sits when it is not in front of the input (PEFT's only
    /// placement).</summary>
    public const string TaskFile = "softprompt_task.json";
    /// <summary>PEFT's task_type of an encoder-decoder (T5).</summary>
    public const string SequenceToSequence = "SEQ_2_SEQ_LM";

    /// <param name="Definition">The task's definition (template and verbalizer, or templates of a generation task),
    /// kept so that serving and evaluating the adapter read inputs exactly as training did.</param>
    /// <param name="BaseFingerprint">The frozen model's <see cref="FingerprintOf"/>, so that loading the prompt over
    /// another base of the same width is refused instead of silently meaning nothing.</param>
    /// <param name="PeftScale">The base's <see cref="Models.TransformerModel.PeftPromptScale"/>: the file holds the
    /// prompt times this, as PEFT would have trained it.</param>
    public sealed record Info(string BaseModel, int NumLayers, int NumHeads, string Init, string? InitText,
        string? Task = null,
        Data.Tasks.ITaskDefinition? Definition = null, string? BaseFingerprint = null, float PeftScale = 1f)
    {
        /// <summary>PEFT's task_type: CAUSAL_LM, or <see cref="SequenceToSequence"/> for a prompt on a T5's
        /// encoder.</summary>
        public string TaskType { get; init; } = AdapterFiles.CausalLanguageModel;

        /// <summary>What a prompt trained over <paramref name="model"/> records: its shape, fingerprint and PEFT
        /// scale.</summary>
        public static Info For(Models.TransformerModel model, string baseModel, string init, string? initText,
            string? task = null,
            Data.Tasks.ITaskDefinition? definition = null) =>
            new(baseModel, model.Config.NumLayers, model.Config.NumHeads, init, initText, task, definition,
                FingerprintOf(model), model.PeftPromptScale);
    }

    public static void Save(string directory, PromptEmbedding prompt, Info info)
    {
        var config = AdapterFiles.Config("PROMPT_TUNING", info.BaseModel, info.TaskType);
        config["num_virtual_tokens"] = prompt.Length;
        config["token_dim"] = prompt.Prompt.Dim(1);
        // 1: the encoder's input only, also on a T5 (PEFT's default there, 2, would prompt the decoder as well).
        config["num_transformer_submodules"] = 1;
        config["num_attention_heads"] = info.NumHeads;
        config["num_layers"] = info.NumLayers;
        // PEFT knows TEXT, RANDOM and SAMPLE_VOCAB; class-label init (Lester et al.) has no PEFT name, so PEFT is told
        // the nearest (vocabulary rows) and softprompt_task.json keeps the real one.
        config["prompt_tuning_init"] = info.Init == "text" ? "TEXT" : info.Init == "uniform" ? "RANDOM"
            : "SAMPLE_VOCAB";
        config["prompt_tuning_init_text"] = info.InitText;
        config["tokenizer_name_or_path"] = info.BaseModel;
        config["tokenizer_kwargs"] = null;
        Directory.CreateDirectory(directory);
        var ours = new JsonObject { ["task"] = info.Task, ["init"] = info.Init };
        if (info.BaseFingerprint is not null) ours["base_fingerprint"] = info.BaseFingerprint;
        if (info.Definition is not null) ours["definition"] = Data.Tasks.TaskDefinition.ToJson(info.Definition);
        if (prompt.Placement != PromptPlacement.BeforeInput) ours["placement"] = PlacementName(prompt.Placement);
        File.WriteAllText(Path.Combine(directory, TaskFile), ours.ToJsonString());
        AdapterFiles.Write(directory, config,
            new[] { (TensorName, prompt.Prompt.Shape, (ReadOnlyMemory<float>)InPeftScale(prompt.Prompt,
            info.PeftScale)) });
    }

    /// <summary>Input prompt vectors as PEFT's prompt_embeddings hold them: ours times the base's
    /// <see cref="Models.TransformerModel.PeftPromptScale"/> (<see cref="Load"/> divides it back out).</summary>
    internal static float[] InPeftScale(Tensor vectors, float peftScale)
    {
        var stored = vectors.ToArray();
        if (peftScale != 1f) System.Numerics.Tensors.TensorPrimitives.Multiply(stored, peftScale, stored);
        return stored;
    }

    /// <summary>softprompt_task.json for an adapter of another method (LoRA, prefix, …), so that `serve` and `eval`
    /// know the task it was trained for and the base it belongs to, as a prompt adapter's does.</summary>
    public static void SaveTaskOf(string directory, string task, Data.Tasks.ITaskDefinition definition,
        string baseFingerprint)
    {
        var ours = new JsonObject
        {
            ["task"] = task, ["base_fingerprint"] = baseFingerprint, ["definition"] = Data.Tasks.TaskDefinition.ToJson(
                definition),
        };
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, TaskFile), ours.ToJsonString());
    }

    /// <summary>Refuses an adapter whose softprompt_task.json records another base than
    /// <paramref name="baseFingerprint"/>.</summary>
    public static void CheckBase(string directory, string baseFingerprint)
    {
        if (OwnField(directory, "base_fingerprint") is string recorded && recorded != baseFingerprint)
            throw new ModelFormatException(Path.Combine(directory, TaskFile),
                $"this adapter was trained on another base model (fingerprint {recorded}; the model given is " +
                    $"{baseFingerprint}). " +
                "Trained vectors and weight changes only mean something to the model they were trained on.");
    }

    public static string PlacementName(PromptPlacement placement) => placement == PromptPlacement.BeforeAnswer
        ? "before-answer" : "before-input";

    public static PromptPlacement ParsePlacement(string name) => name switch
    {
        "before-input" => PromptPlacement.BeforeInput,
        "before-answer" => PromptPlacement.BeforeAnswer,
        _ => throw new ArgumentException($"Unknown prompt placement '{name}': use before-input or before-answer."),
    };

    /// <summary>The name of the task the adapter was trained for, when it says.</summary>
    public static string? TaskOf(string directory) => OwnField(directory, "task");

    /// <summary>The task definition the adapter was trained with, when it keeps one.</summary>
    public static Data.Tasks.ITaskDefinition? DefinitionOf(string directory, string name)
    {
        using var doc = OwnFile(directory, out string path);
        if (doc is null || !doc.RootElement.TryGetProperty("definition", out var definition)
            || definition.ValueKind == JsonValueKind.Null) return null;
        return JsonNode.Parse(definition.GetRawText()) is JsonObject json
            ? Data.Tasks.TaskDefinition.FromJson(json, name, $"{path} (\"definition\")")
            : throw new ModelFormatException(path,
                "\"definition\" must be an object: the task's kind and templates (and verbalizer).");
    }

    /// <summary>softprompt_task.json of an adapter directory (at most 64 KiB, a JSON object), or null when there is
    /// none.</summary>
    private static JsonDocument? OwnFile(string directory, out string path)
    {
        path = Path.Combine(directory, TaskFile);
        if (!File.Exists(path)) return null;
        var doc = JsonFile.Load(path, maxBytes: 1 << 16);
        if (doc.RootElement.ValueKind == JsonValueKind.Object) return doc;
        doc.Dispose();
        throw new ModelFormatException(path, "expected {\"task\": \"<name>\"}.");
    }

    private static string? OwnField(string directory, string field)
    {
        using var doc = OwnFile(directory, out string path);
        if (doc is null || !doc.RootElement.TryGetProperty(field, out var value)
            || value.ValueKind == JsonValueKind.Null) return null;
        return value.ValueKind == JsonValueKind.String ? value.GetString() : throw new ModelFormatException(path,
            $"\"{field}\" must be a string.");
    }

    /// <summary>Loads the prompt, checking it against the model width it will be used with.</summary>
    /// <param name="maxRows">The most prompt vectors the model has room for (its context less one input token):
    /// checked before anything is allocated, so a header claiming a million rows costs nothing.</param>
    /// <param name="baseFingerprint">The <see cref="FingerprintOf"/> of the model it will run on: an adapter that
    /// recorded another base is refused.</param>
    /// <param name="peftScale">That model's <see cref="Models.TransformerModel.PeftPromptScale"/>: the file's prompt is
    /// divided by it.</param>
    public static PromptEmbedding Load(string directory, int modelWidth, int maxRows = int.MaxValue,
        string? baseFingerprint = null,
        float peftScale = 1f)
    {
        var config = AdapterFiles.ReadConfig(directory, "PROMPT_TUNING");
        var file = AdapterFiles.OpenWeights(directory);
        var shape = file.Info(TensorName).Shape;
        string weights = Path.Combine(directory, WeightsFile);
        if (shape.Length != 2 || shape[1] != modelWidth)
            throw new ModelFormatException(weights,
                $"{TensorName} has shape [{string.Join(", ", shape)}]; the model needs [p, {modelWidth}].");
        if (config.TryGetProperty("num_virtual_tokens", out var declared)
            && declared.ValueKind == JsonValueKind.Number &&
            (!declared.TryGetInt32(out int tokens) || tokens != shape[0]))
            throw new ModelFormatException(Path.Combine(directory, ConfigFile),
                $"num_virtual_tokens is {declared.GetRawText()} but {WeightsFile} holds {shape[0]} prompt vectors.");
        if (baseFingerprint is not null) CheckBase(directory, baseFingerprint);
        if (shape[0] > maxRows)
            throw new ModelFormatException(weights,
                $"{TensorName} has {shape[0]} prompt vectors; the model's context leaves room for at most {maxRows}.");
        var prompt = new PromptEmbedding(shape[0], shape[1]);
        file.ReadFloat32(TensorName, prompt.Prompt.Span, shape);
        int bad = FirstNonFinite(prompt.Prompt.Span);
        if (bad >= 0)
            throw new ModelFormatException(weights,
                $"{TensorName} holds a value that is not finite ({prompt.Prompt.Span[bad]}) at element {bad}.");
        if (peftScale != 1f) System.Numerics.Tensors.TensorPrimitives.Divide(prompt.Prompt.Span, peftScale,
            prompt.Prompt.Span);
        if (OwnField(directory, "placement") is string placement)
        {
            try { prompt.Placement = ParsePlacement(placement); }
            catch (ArgumentException e) { throw new ModelFormatException(Path.Combine(directory, TaskFile),
                e.Message); }
        }
        return prompt;
    }

    private static int FirstNonFinite(ReadOnlySpan<float> values)
    {
        for (int i = 0; i < values.Length; i++)
            if (!float.IsFinite(values[i])) return i;
        return -1;
    }

    /// <summary>
    /// A short identity of a model's weights: SHA-256 of its vocabulary size, width and first 64 token-embedding rows
    /// rounded to bfloat16 (so the same base read from an fp32 or a bf16 file agrees).
    /// </summary>
    public static string FingerprintOf(Models.TransformerModel model) => FingerprintOf(model.TokenEmbedding,
        model.Config);

    /// <summary>The fingerprint of any model with a token-embedding table (a T5's shared one).</summary>
    public static string FingerprintOf(Tensor tokenEmbedding, Models.ModelConfig config) => FingerprintOf(
        tokenEmbedding, config.VocabSize, config.HiddenSize);

    /// <summary>The fingerprint of a model by its first table of weights (a ViT's patch projection): its first 64 rows
    /// of <paramref name="width"/>, with <paramref name="rows"/> and the width.</summary>
    public static string FingerprintOf(Tensor table, int rows, int width)
    {
        var embedding = table.Span;
        int count = Math.Min(embedding.Length, 64 * width);
        var rounded = new ushort[count];
        ReducedPrecision.SingleToBf16(embedding[..count], rounded);
        var bytes = new byte[8 + 2 * count];
        BitConverter.TryWriteBytes(bytes.AsSpan(0, 4), rows);
        BitConverter.TryWriteBytes(bytes.AsSpan(4, 4), width);
        System.Runtime.InteropServices.MemoryMarshal.AsBytes(rounded.AsSpan()).CopyTo(bytes.AsSpan(8));
        return "sha256:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes))[..16];
    }
}
