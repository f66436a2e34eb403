using System.Text.Json;
using System.Text.Json.Nodes;
using SoftPrompt.Engine;
using SoftPrompt.Engine.IO;
using SoftPrompt.Models;
using SoftPrompt.Tuning.PromptTuning;

namespace SoftPrompt.Tuning.PTuning;

/// <summary>
/// PEFT's P_TUNING directory, for every P-tuning classifier (causal or cloze): prompt_embeddings [p, D] hold the
/// encoder's output (what PEFT saves for inference), plus our template (pseudo tokens inside the text, which PEFT
/// cannot express) and the encoder itself, so predictions after loading are exactly the trained ones and training can
/// continue.
/// </summary>
public static class PTuningFiles
{
    public const string TemplateFile = "softprompt_ptuning.json", EncoderFile = "softprompt_prompt_encoder.safetensors";

    /// <param name="taskType">PEFT's task_type; null where PEFT has none for the setting (a masked-LM cloze).</param>
    /// <param name="peftScale">The base's <see cref="TransformerModel.PeftPromptScale"/>: prompt_embeddings, which PEFT
    /// reads, hold the encoder's output times this.</param>
    public static void Save(string directory, string baseModel, string? taskType, ModelConfig model, string taskName,
        PTuningTemplate template,
        PromptEncoder encoder, float peftScale = 1f)
    {
        var config = AdapterFiles.Config("P_TUNING", baseModel);
        config["task_type"] = taskType;
        config["num_virtual_tokens"] = encoder.Length;
        config["token_dim"] = encoder.Inputs.Dim(1);
        config["num_transformer_submodules"] = 1;
        config["num_attention_heads"] = model.NumHeads;
        config["num_layers"] = model.NumLayers;
        config["encoder_reparameterization_type"] = encoder.Kind == PromptEncoderKind.Lstm ? "LSTM" : "MLP";
        config["encoder_hidden_size"] = encoder.HiddenSize;
        config["encoder_num_layers"] = 2;
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, TemplateFile), new JsonObject { ["template"] = template.Text,
            ["task"] = taskName }.ToJsonString());
        SafeTensorsWriter.Write(Path.Combine(directory, EncoderFile),
            AdapterFiles.Named(encoder.Tensors.Select(t => (t.Name!, t))));
        var tape = new Tape(recording: false);
        var vectors = encoder.Forward(tape);
        AdapterFiles.Write(directory, config,
            new[] { (PromptAdapterFiles.TensorName, vectors.Shape,
                (ReadOnlyMemory<float>)PromptAdapterFiles.InPeftScale(vectors, peftScale)) });
        tape.Reset();
    }

    /// <summary>The template and the trained encoder <see cref="Save"/> wrote, for a model of
    /// <paramref name="model"/>'s width.</summary>
    public static (PTuningTemplate Template, PromptEncoder Encoder) Load(string directory, ModelConfig model)
    {
        var config = AdapterFiles.ReadConfig(directory, "P_TUNING");
        int p = AdapterFiles.RequiredInt(config, directory, "num_virtual_tokens"),
            hidden = AdapterFiles.RequiredInt(config, directory, "encoder_hidden_size");
        var kind = config.TryGetProperty("encoder_reparameterization_type", out var k) && k.GetString() == "MLP"
            ? PromptEncoderKind.Mlp : PromptEncoderKind.Lstm;
        string templatePath = Path.Combine(directory, TemplateFile);
        using var doc = JsonFile.Load(templatePath, maxBytes: 1 << 16);
        string text = doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("template",
            out var t) && t.ValueKind == JsonValueKind.String
            ? t.GetString()!
            : throw new ModelFormatException(templatePath, "expected {\"template\": \"…{soft}…\"}.");
        PTuningTemplate template;
        try { template = new PTuningTemplate(text); }
        catch (ArgumentException e) { throw new ModelFormatException(templatePath, e.Message); }
        var encoder = new PromptEncoder(p, model.HiddenSize, kind, hidden, seed: 0);
        var file = SafeTensorsFile.Open(Path.Combine(directory, EncoderFile));
        foreach (var tensor in encoder.Tensors) file.ReadFloat32(tensor.Name!, tensor.Span, tensor.Shape);
        return (template, encoder);
    }
}
