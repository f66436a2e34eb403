using SoftPrompt.Data.Tasks;
using SoftPrompt.Data.Tokenizers;
using SoftPrompt.Engine;
using SoftPrompt.Engine.Autograd;
using SoftPrompt.Models;

namespace SoftPrompt.Tuning.Heads;

/// <summary>
/// Classification with a head instead of a verbalizer (P-tuning v2): one final hidden state per row goes through a
/// linear layer to one score per label; the loss is cross-entropy over the labels. A causal model's is the last
/// token's, the one position that has read the whole input; an encoder's is [CLS]'s, which BERT pretrained for
/// sentence-level decisions and which sees every token.
/// </summary>
public sealed class HeadClassifier : HeadObjective<LabeledExample>, ILabelPredictor
{
    public const string FileName = "softprompt_classifier_head.safetensors", HeadName = "classifier_head";

    public HeadClassifier(TransformerModel model, ITokenizer tokenizer, ClassificationTask task,
        ITrainableAdapter? adapter, LinearHead head)
        : base(model, tokenizer, adapter, head, FileName, task.Labels, $"task {task.Name}'s labels") => Task = task;

    /// <summary>A freshly initialised head for the task's labels.</summary>
    public static LinearHead NewHead(ClassificationTask task, ModelConfig model, int seed = 1) => new(task.Labels,
        model.HiddenSize, HeadName, seed);

    /// <summary>The head saved in an adapter directory by <see cref="HeadObjective{T}.Save"/>.</summary>
    public static LinearHead LoadHead(string directory, ClassificationTask task, ModelConfig model) =>
        LinearHead.Load(Path.Combine(directory, FileName), task.Labels, model.HiddenSize, HeadName);

    public ClassificationTask Task { get; }

    /// <summary>The rendered input's tokens; a long one keeps its end, where the template puts the question.</summary>
    public int[] InputTokens(LabeledExample example)
    {
        var ids = Tokenizer.Encode(Task.Render(example));
        if (ids.Length == 0) throw new ArgumentException($"Task {Task.Name}: an example renders to no tokens.");
        int max = TextPositions;
        return ids.Length <= max ? ids : ids[^max..];
    }

    public override Tensor Loss(Tape tape, IReadOnlyList<LabeledExample> batch)
    {
        var gold = batch.Select(e => Task.Labels.ToList().IndexOf(e.Label)).ToArray();
        return Fn.CrossEntropy(tape, Logits(tape, batch), gold);
    }

    /// <summary>Scores (B, C) of a batch, one per label in Task.Labels order.</summary>
    public Tensor Logits(Tape tape, IReadOnlyList<LabeledExample> batch)
    {
        var rows = batch.Select(InputTokens).ToList();
        return HeadLogits(tape, rows, rows.Select(r => new[] { Model.IsCausal ? r.Length - 1 : 0 }).ToList());
    }

    /// <summary>Each example's label scores, in Task.Labels order.</summary>
    public double[][] LabelScores(IReadOnlyList<LabeledExample> examples, int batchSize = 16) =>
        InBatches(examples, batchSize, (tape, chunk) =>
        {
            var logits = Logits(tape, chunk).ToArray();
            int c = Task.Labels.Count;
            return Enumerable.Range(0, chunk.Count).Select(i => logits[(i * c)..((i + 1) * c)].Select(x => (double)x)
                .ToArray()).ToArray();
        });

    string[] ILabelPredictor.Predict(IReadOnlyList<LabeledExample> examples) => Predict(examples);

    public string[] Predict(IReadOnlyList<LabeledExample> examples, int batchSize = 16) =>
        InBatches(examples, batchSize, (tape, chunk) => Best(Logits(tape, chunk)));

    public double Accuracy(IReadOnlyList<LabeledExample> examples) =>
        Predict(examples).Where((label, i) => label == examples[i].Label).Count() / (double)examples.Count;

    public override double Score(IReadOnlyList<LabeledExample> examples) => Accuracy(examples);
    public override string ScoreName => "accuracy";
}
