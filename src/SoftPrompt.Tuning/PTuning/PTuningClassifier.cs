using SoftPrompt.Data.Tasks;
using SoftPrompt.Data.Tokenizers;
using SoftPrompt.Engine;
using SoftPrompt.Engine.Autograd;
using SoftPrompt.Models;
using SoftPrompt.Tuning.PromptTuning;

namespace SoftPrompt.Tuning.PTuning;

/// <summary>
/// P-tuning v1 (Liu et al. 2021, "GPT Understands, Too") for classification: pseudo tokens anywhere in a template,
/// their vectors produced by a prompt encoder, the label scored by the task's verbalizer as Pr(y | template(x)).
/// The frozen model receives no gradient; the encoder's inputs and weights train.
/// </summary>
public sealed class PTuningClassifier : IPTuningClassifier
{
    private readonly CausalLanguageModel _model;
    private readonly ITokenizer _tokenizer;
    private readonly Dictionary<string, int[]> _labelIds;
    private readonly int _padding;

    public PTuningClassifier(CausalLanguageModel model, ITokenizer tokenizer, ClassificationTask task,
        PTuningTemplate template, PromptEncoder encoder)
    {
        encoder.CheckFits(template, model.Config.HiddenSize);
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
        var (tokens, slots) = Template.Encode(_tokenizer, example.Fields, _model.Config.MaxPositions - target.Length,
            _padding);
        return new PromptedSequences.Row(tokens, slots, target);
    }

    public Tensor Loss(Tape tape, IReadOnlyList<LabeledExample> batch)
    {
        var (logits, targets, _) = PromptedSequences.Logits(tape, _model, Encoder.Forward(tape),
            batch.Select(e => Row(e, e.Label)).ToList(), _padding);
        return Fn.CrossEntropy(tape, logits, targets);
    }

    /// <summary>Log-probability of each label for each example: [example][label in Task.Labels order].</summary>
    public double[][] LabelScores(IReadOnlyList<LabeledExample> examples, int rowsPerBatch = 16)
    {
        var tape = new Tape(recording: false);
        var vectors = Encoder.Forward(tape).ToArray(); // once: the encoder does not depend on the input
        var requests = examples.SelectMany((e, i) => Task.Labels.Select((label, l) => (Example: i, Label: l,
            Row: Row(e, label)))).ToList();
        var scores = examples.Select(_ => new double[Task.Labels.Count]).ToArray();
        for (int start = 0; start < requests.Count; start += rowsPerBatch)
        {
            var chunk = requests.GetRange(start, Math.Min(rowsPerBatch, requests.Count - start));
            tape.Reset();
            var fixedVectors = Tensor.FromArray(vectors, new[] { Encoder.Length, Encoder.Inputs.Dim(1) });
            var (logits, targets, rowStarts) = PromptedSequences.Logits(tape, _model, fixedVectors,
                chunk.Select(c => c.Row).ToList(), _padding);
            var sums = PromptedSequences.TargetLogProbabilities(logits, targets, rowStarts);
            for (int i = 0; i < chunk.Count; i++) scores[chunk[i].Example][chunk[i].Label] = sums[i];
        }
        tape.Reset();
        return scores;
    }

    public string[] Predict(IReadOnlyList<LabeledExample> examples) =>
        LabelPredictorExtensions.HighestScoring(LabelScores(examples), Task.Labels);

    public double Score(IReadOnlyList<LabeledExample> examples) => this.Evaluate(examples).Accuracy;

    /// <summary>PEFT's P_TUNING directory with our template and encoder beside it (see
    /// <see cref="PTuningFiles"/>).</summary>
    public void Save(string directory, string baseModel) =>
        PTuningFiles.Save(directory, baseModel, "CAUSAL_LM", _model.Config, Task.Name, Template, Encoder,
            _model.PeftPromptScale);

    /// <summary>Loads what <see cref="Save"/> wrote (the encoder, so predictions are exactly the trained
    /// ones).</summary>
    public static PTuningClassifier Load(string directory, CausalLanguageModel model, ITokenizer tokenizer,
        ClassificationTask task)
    {
        var (template, encoder) = PTuningFiles.Load(directory, model.Config);
        return new PTuningClassifier(model, tokenizer, task, template, encoder);
    }
}
