using SoftPrompt.Data.Tasks;
using SoftPrompt.Data.Tokenizers;
using SoftPrompt.Models;
using SoftPrompt.Engine;
using SoftPrompt.Tuning.PTuning;
using SoftPrompt.Tuning.PromptTuning;

namespace SoftPrompt.Tuning.Cloze;

/// <summary>
/// Zero-shot cloze classification on a frozen BERT, prompt design alone: "[CLS] Review: {text} The food was [MASK].
/// [SEP]" with each label scored by the MLM head's logit for its verbalizer word at the [MASK]. Alone nothing trains:
/// it is the encoder's baseline that P-tuning's pseudo tokens have to beat. As an objective it trains whatever the
/// comparison gives it through the same verbalizer (PET-style): an <see cref="Adapter"/> inside the layers, or the
/// model's own weights that a fine-tuning baseline unfroze; the loss is cross-entropy over the labels' logits.
/// </summary>
public sealed class ClozeClassifier : IPromptObjective<LabeledExample>, ILabelPredictor
{
    private readonly ClozeScorer _scorer;

    /// <param name="template">Defaults to the task's own template; either must hold a [MASK].</param>
    public ClozeClassifier(Bert model, WordPieceTokenizer tokenizer, ClassificationTask task, string? template = null)
    {
        var plain = PTuningTemplate.Plain(template ?? task.Template);
        if (plain.PseudoTokens > 0)
            throw new ArgumentException(
                $"Template \"{plain.Text}\" has {{soft}} slots for trained vectors; those need a " +
                $"{nameof(ClozePTuningClassifier)}.");
        _scorer = new ClozeScorer(model, tokenizer, task, plain);
        Task = task;
        Template = plain.Text;
    }

    public ClassificationTask Task { get; }
    public string Template { get; }
    /// <summary>An adapter inside the model's layers (LoRA, bottleneck adapters, deep prompts), or null.</summary>
    public IModelAdapter? Adapter { get; init; }
    public PromptEmbedding? Prompt => null;
    public string ScoreName => "accuracy";

    /// <summary>Each label's verbalizer token, in Task.Labels order.</summary>
    public IReadOnlyList<int> LabelTokens => _scorer.LabelTokens;

    /// <summary>What the model reads for an example: [CLS] template [SEP].</summary>
    public int[] InputTokens(LabeledExample example) => _scorer.Tokens(example);

    public Tensor Loss(Tape tape, IReadOnlyList<LabeledExample> batch) => _scorer.Loss(tape, batch, null, Adapter);

    public double Score(IReadOnlyList<LabeledExample> examples) => this.Evaluate(examples).Accuracy;

    /// <summary>Each example's label scores, in Task.Labels order.</summary>
    public double[][] LabelScores(IReadOnlyList<LabeledExample> examples, int batchSize = 16) =>
        _scorer.LabelScores(examples, batchSize, _ => null, Adapter);

    public string[] Predict(IReadOnlyList<LabeledExample> examples) => _scorer.Predict(LabelScores(examples));
}
