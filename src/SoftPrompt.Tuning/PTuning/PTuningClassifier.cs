using System.Text.Json.Nodes;
using SoftPrompt.Data.Tasks;
using SoftPrompt.Data.Tokenizers;
using SoftPrompt.Engine;
using SoftPrompt.Engine.Autograd;
using SoftPrompt.Engine.IO;
using SoftPrompt.Models;
using SoftPrompt.Tuning.PromptTuning;

namespace SoftPrompt.Tuning.PTuning;

/// <summary>
/// P-tuning v1 (Liu et al. 2021, "GPT Understands, Too") for classification: pseudo tokens anywhere in a template,
/// their vectors produced by a prompt encoder, the label scored by the task's verbalizer as Pr(y | template(x)).
/// The frozen model receives no gradient; the encoder's inputs and weights train.
/// </summary>
public sealed class PTuningClassifier : IPromptObjective<LabeledExample>, ILabelPredictor
{
    public const string TemplateFile = "softprompt_ptuning.json", EncoderFile = "softprompt_prompt_encoder.safetensors";
    private readonly CausalLanguageModel _model;
    private readonly ITokenizer _tokenizer;
    private readonly Dictionary<string, int[]> _labelIds;
    private readonly int _padding;

    public PTuningClassifier(CausalLanguageModel model, ITokenizer tokenizer, ClassificationTask task, PTuningTemplate template, PromptEncoder encoder)
    {
        if (template.PseudoTokens != encoder.Length)
            throw new ArgumentException($"The template has {template.PseudoTokens} pseudo tokens, the encoder makes {encoder.Length}.");
        if (encoder.Inputs.Dim(1) != model.Config.HiddenSize)
            throw new ArgumentException($"The prompt encoder is {encoder.Inputs.Dim(1)} wide, the model {model.Config.HiddenSize}.");
        _model = model;
        _tokenizer = tokenizer;
        Task = task;
        Template = template;
        Encoder = encoder;
        _labelIds = task.Verbalizer.ToDictionary(kv => kv.Key, kv => tokenizer.Encode(kv.Value));
        _padding = tokenizer.EosId ?? 0;
    }

    public ClassificationTask Task { get; }
    public PTuningTemplate Template { get; }
    public PromptEncoder Encoder { get; }
    public PromptEmbedding? Prompt => null;
    public string ScoreName => "accuracy";
    public long StoredValueCount => (long)Encoder.Length * Encoder.Inputs.Dim(1);

    private PromptedSequences.Row Row(LabeledExample example, string label)
    {
        var target = _labelIds[label];
        var (tokens, slots) = Template.Encode(_tokenizer, example.Fields, _model.Config.MaxPositions - target.Length, _padding);
        return new PromptedSequences.Row(tokens, slots, target);
    }

    public Tensor Loss(Tape tape, IReadOnlyList<LabeledExample> batch)
    {
        var (logits, targets, _) = PromptedSequences.Logits(tape, _model, Encoder.Forward(tape), batch.Select(e => Row(e, e.Label)).ToList(), _padding);
        return Fn.CrossEntropy(tape, logits, targets);
    }

    /// <summary>Log-probability of each label for each example: [example][label in Task.Labels order].</summary>
    public double[][] LabelScores(IReadOnlyList<LabeledExample> examples, int rowsPerBatch = 16)
    {
        var tape = new Tape(recording: false);
        var vectors = Encoder.Forward(tape).ToArray(); // once: the encoder does not depend on the input
        var requests = examples.SelectMany((e, i) => Task.Labels.Select((label, l) => (Example: i, Label: l, Row: Row(e, label)))).ToList();
        var scores = examples.Select(_ => new double[Task.Labels.Count]).ToArray();
        for (int start = 0; start < requests.Count; start += rowsPerBatch)
        {
            var chunk = requests.GetRange(start, Math.Min(rowsPerBatch, requests.Count - start));
            tape.Reset();
            var fixedVectors = Tensor.FromArray(vectors, new[] { Encoder.Length, Encoder.Inputs.Dim(1) });
            var (logits, targets, rowStarts) = PromptedSequences.Logits(tape, _model, fixedVectors, chunk.Select(c => c.Row).ToList(), _padding);
            var sums = PromptedSequences.TargetLogProbabilities(logits, targets, rowStarts);
            for (int i = 0; i < chunk.Count; i++) scores[chunk[i].Example][chunk[i].Label] = sums[i];
        }
        tape.Reset();
        return scores;
    }

    public string[] Predict(IReadOnlyList<LabeledExample> examples) =>
        LabelScores(examples).Select(s => Task.Labels[Array.IndexOf(s, s.Max())]).ToArray();

    public double Score(IReadOnlyList<LabeledExample> examples) => this.Evaluate(examples).Accuracy;

    /// <summary>
    /// PEFT's P_TUNING directory: prompt_embeddings [p, D] hold the encoder's output (what PEFT saves for inference),
    /// plus our template (pseudo tokens inside the text, which PEFT cannot express) and the encoder itself, so
    /// training can continue.
    /// </summary>
    public void Save(string directory, string baseModel)
    {
        var config = AdapterFiles.Config("P_TUNING", baseModel);
        config["num_virtual_tokens"] = Encoder.Length;
        config["token_dim"] = Encoder.Inputs.Dim(1);
        config["num_transformer_submodules"] = 1;
        config["num_attention_heads"] = _model.Config.NumHeads;
        config["num_layers"] = _model.Config.NumLayers;
        config["encoder_reparameterization_type"] = Encoder.Kind == PromptEncoderKind.Lstm ? "LSTM" : "MLP";
        config["encoder_hidden_size"] = Encoder.HiddenSize;
        config["encoder_num_layers"] = 2;
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, TemplateFile), new JsonObject { ["template"] = Template.Text, ["task"] = Task.Name }.ToJsonString());
        SafeTensorsWriter.Write(Path.Combine(directory, EncoderFile), AdapterFiles.Named(Encoder.Tensors.Select(t => (t.Name!, t))));
        var tape = new Tape(recording: false);
        var vectors = Encoder.Forward(tape);
        AdapterFiles.Write(directory, config, new[] { (PromptAdapterFiles.TensorName, vectors.Shape, (ReadOnlyMemory<float>)vectors.ToArray()) });
    }

    /// <summary>Loads what <see cref="Save"/> wrote (the encoder, so predictions are exactly the trained ones).</summary>
    public static PTuningClassifier Load(string directory, CausalLanguageModel model, ITokenizer tokenizer, ClassificationTask task)
    {
        var config = AdapterFiles.ReadConfig(directory, "P_TUNING");
        int p = AdapterFiles.RequiredInt(config, directory, "num_virtual_tokens"), hidden = AdapterFiles.RequiredInt(config, directory, "encoder_hidden_size");
        var kind = config.TryGetProperty("encoder_reparameterization_type", out var k) && k.GetString() == "MLP" ? PromptEncoderKind.Mlp : PromptEncoderKind.Lstm;
        string templatePath = Path.Combine(directory, TemplateFile);
        using var doc = JsonFile.Load(templatePath, maxBytes: 1 << 16);
        string template = doc.RootElement.ValueKind == System.Text.Json.JsonValueKind.Object && doc.RootElement.TryGetProperty("template", out var t)
                          && t.ValueKind == System.Text.Json.JsonValueKind.String
            ? t.GetString()!
            : throw new ModelFormatException(templatePath, "expected {\"template\": \"…[P]…\"}.");
        PTuningTemplate parsed;
        try { parsed = new PTuningTemplate(template); }
        catch (ArgumentException e) { throw new ModelFormatException(templatePath, e.Message); }
        var encoder = new PromptEncoder(p, model.Config.HiddenSize, kind, hidden, seed: 0);
        var file = SafeTensorsFile.Open(Path.Combine(directory, EncoderFile));
        foreach (var tensor in encoder.Tensors) file.ReadFloat32(tensor.Name!, tensor.Span, tensor.Shape);
        return new PTuningClassifier(model, tokenizer, task, parsed, encoder);
    }
}
