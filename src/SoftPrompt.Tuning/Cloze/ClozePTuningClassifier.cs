using SoftPrompt.Data.Tasks;
using SoftPrompt.Data.Tokenizers;
using SoftPrompt.Engine;
using SoftPrompt.Models;
using SoftPrompt.Tuning.PTuning;
using SoftPrompt.Tuning.PromptTuning;

namespace SoftPrompt.Tuning.Cloze;

/// <summary>
/// Cloze classification with a frozen BERT and P-tuning v1 (Liu et al. 2021, the masked-LM setting of the paper):
/// "[CLS] {soft*k} Review: {text} {soft*k} The food was [MASK]. [SEP]", pseudo-token vectors from a prompt encoder at
/// the {soft} slots, each label scored by the MLM head at the [MASK] (see <see cref="ClozeScorer"/>). Only the prompt
/// encoder trains.
/// </summary>
public sealed class ClozePTuningClassifier : IPTuningClassifier
{
    private readonly Bert _model;
    private readonly ClozeScorer _scorer;

    public ClozePTuningClassifier(Bert model, WordPieceTokenizer tokenizer, ClassificationTask task,
        PTuningTemplate template, PromptEncoder encoder)
    {
        encoder.CheckFits(template, model.Config.HiddenSize);
        _model = model;
        _scorer = new ClozeScorer(model, tokenizer, task, template);
        Task = task;
        Template = template;
        Encoder = encoder;
    }

    public ClassificationTask Task { get; }
    public PTuningTemplate Template { get; }
    public PromptEncoder Encoder { get; }
    public IReadOnlyList<Tensor> Trainable => Encoder.Tensors;
    public long StoredValueCount => (long)Encoder.Length * Encoder.Inputs.Dim(1);
    public PromptEmbedding? Prompt => null;
    public string ScoreName => "accuracy";
    public double Score(IReadOnlyList<LabeledExample> examples) => this.Evaluate(examples).Accuracy;

    /// <summary>Label scores (B, C): the MLM logits of the verbalizer words at each row's [MASK].</summary>
    public Tensor Logits(Tape tape, IReadOnlyList<LabeledExample> batch) => _scorer.Logits(tape, batch,
        Encoder.Forward(tape));

    public Tensor Loss(Tape tape, IReadOnlyList<LabeledExample> batch) => _scorer.Loss(tape, batch,
        Encoder.Forward(tape));

    /// <summary>Each example's label scores, in Task.Labels order.</summary>
    public double[][] LabelScores(IReadOnlyList<LabeledExample> examples, int batchSize = 16) =>
        _scorer.LabelScores(examples, batchSize, Encoder.Forward);

    public string[] Predict(IReadOnlyList<LabeledExample> examples) => _scorer.Predict(LabelScores(examples));

    /// <summary>The causal P-tuning classifier's directory layout (see <see cref="PTuningFiles"/>); PEFT has no
    /// masked-LM task type, so task_type is null.</summary>
    public void Save(string directory, string baseModel) =>
        PTuningFiles.Save(directory, baseModel, taskType: null, _model.Config, Task.Name, Template, Encoder);

    /// <summary>Loads what <see cref="Save"/> wrote: the trained encoder itself, so predictions are exactly the saved
    /// ones.</summary>
    public static ClozePTuningClassifier Load(string directory, Bert model, WordPieceTokenizer tokenizer,
        ClassificationTask task)
    {
        var (template, encoder) = PTuningFiles.Load(directory, model.Config);
        return new ClozePTuningClassifier(model, tokenizer, task, template, encoder);
    }
}
