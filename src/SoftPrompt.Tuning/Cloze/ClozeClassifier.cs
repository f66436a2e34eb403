using SoftPrompt.Data.Tasks;
using SoftPrompt.Data.Tokenizers;
using SoftPrompt.Models;
using SoftPrompt.Tuning.PTuning;

namespace SoftPrompt.Tuning.Cloze;

/// <summary>
/// Zero-shot cloze classification on a frozen BERT, prompt design alone: "[CLS] Review: {text} The food was [MASK]. [SEP]"
/// with each label scored by the MLM head's logit for its verbalizer word at the [MASK]. Nothing trains; it is the
/// encoder's baseline that P-tuning's pseudo tokens have to beat.
/// </summary>
public sealed class ClozeClassifier : ILabelPredictor
{
    private readonly ClozeScorer _scorer;

    /// <param name="template">Defaults to the task's own template; either must hold a [MASK].</param>
    public ClozeClassifier(Bert model, WordPieceTokenizer tokenizer, ClassificationTask task, string? template = null)
    {
        var plain = PTuningTemplate.Plain(template ?? task.Template);
        if (plain.PseudoTokens > 0)
            throw new ArgumentException($"Template \"{plain.Text}\" has [P] pseudo tokens; those need a {nameof(ClozePTuningClassifier)}.");
        _scorer = new ClozeScorer(model, tokenizer, task, plain);
        Task = task;
        Template = plain.Text;
    }

    public ClassificationTask Task { get; }
    public string Template { get; }

    /// <summary>Each example's label scores, in Task.Labels order.</summary>
    public double[][] LabelScores(IReadOnlyList<LabeledExample> examples, int batchSize = 16) =>
        _scorer.LabelScores(examples, batchSize, _ => null);

    public string[] Predict(IReadOnlyList<LabeledExample> examples) => _scorer.Predict(LabelScores(examples));
}
