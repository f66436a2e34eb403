using SoftPrompt.Data.Tasks;
using SoftPrompt.Data.Tokenizers;
using SoftPrompt.Engine;
using SoftPrompt.Engine.Autograd;
using SoftPrompt.Models;

namespace SoftPrompt.Tuning.PromptTuning;

/// <summary>The training objective of a classifier scored by its label words.</summary>
public enum ClassificationLoss
{
    /// <summary><see cref="LabelChoice"/> where the labels part at one token, <see cref="Vocabulary"/>
    /// elsewhere.</summary>
    Auto,
    /// <summary>Lester et al.'s text-to-text loss: −log Pr(gold label's tokens) under the softmax over the whole
    /// vocabulary. Much of a small model's early signal goes into making the label words likely at all.</summary>
    Vocabulary,
    /// <summary>−log of the gold label's share of a softmax over the labels' tokens where they part (their first
    /// tokens, or the first after a shared "▁"): the verbalizer loss of PET and LM-BFF. Every step's signal is the
    /// choice between labels, which is what prediction uses.</summary>
    LabelChoice,
}

public static class ClassificationLosses
{
    public static ClassificationLoss Parse(string name) => name.ToLowerInvariant() switch
    {
        "vocabulary" or "vocab" => ClassificationLoss.Vocabulary,
        "labels" or "label-choice" => ClassificationLoss.LabelChoice,
        "auto" => ClassificationLoss.Auto,
        _ => throw new OptionException("Loss",
            $"'{name}' is not known: use auto, labels (a softmax over the labels' first tokens) or vocabulary (over " +
            $"all tokens, as Lester et al.)."),
    };
}

/// <summary>
/// Classification as text-to-text over a frozen model: a row is [P; x; y] with x the rendered input and y a label's
/// verbalizer tokens. Training minimises −log Pr(y_gold | [P; x]) on the label tokens only; prediction picks the label
/// whose tokens have the highest log-probability (optionally per token). With no prompt it is the zero-shot baseline.
/// </summary>
public sealed class PromptClassifier : IPromptObjective<LabeledExample>, ILabelPredictor
{
    private readonly CausalLanguageModel _model;
    private readonly ITokenizer _tokenizer;
    private readonly Dictionary<string, int[]> _labelIds;
    // Where the labels part, fixed by the task and tokenizer: found once, or why there is no such place.
    private readonly (int Shared, int[] Tokens)? _labelChoice;
    private readonly string _labelChoiceProblem;

    public PromptClassifier(CausalLanguageModel model, ITokenizer tokenizer, ClassificationTask task,
        PromptEmbedding? prompt,
        string contextPrefix = "")
    {
        ContextPrefix = contextPrefix;
        _model = model;
        _tokenizer = tokenizer;
        Task = task;
        Prompt = prompt;
        _labelIds = task.Verbalizer.ToDictionary(kv => kv.Key, kv => tokenizer.Encode(kv.Value));
        foreach (var (label, ids) in _labelIds)
            if (ids.Length == 0)
                throw new ArgumentException($"Task {task.Name}: label \"{label}\" is written as empty text.");
        int longestLabel = _labelIds.Values.Max(i => i.Length);
        MaxInputTokens = model.Config.MaxPositions - (prompt?.Length ?? 0) - longestLabel;
        if (MaxInputTokens < 8)
            throw new ArgumentException(
                $"The model's {model.Config.MaxPositions} positions leave no room for input after the prompt and " +
                    $"label.");
        _labelChoice = TryLabelChoice(task, _labelIds, out _labelChoiceProblem);
    }

    public ClassificationTask Task { get; }
    public PromptEmbedding? Prompt { get; }
    /// <summary>Changes inside the layer stack (prefix tuning, deep prompts, LoRA, …), besides or instead of the
    /// prompt.</summary>
    public IModelAdapter? Adapter { get; init; }
    public int MaxInputTokens { get; }
    /// <summary>Validation during tuning scores labels per token (for verbalizers of different lengths).</summary>
    public bool LengthNormalized { get; init; }

    /// <summary>Text placed before every input: in-context demonstrations for the few-shot baseline.</summary>
    public string ContextPrefix { get; }
    public IReadOnlyDictionary<string, int[]> LabelTokens => _labelIds;

    /// <summary>The input's tokens; long inputs keep their end, where the template puts the question (and a few-shot
    /// prefix that does not fit loses its first demonstrations).</summary>
    public int[] InputTokens(LabeledExample example)
    {
        var ids = _tokenizer.Encode(ContextPrefix + Task.Render(example));
        return ids.Length <= MaxInputTokens ? ids : ids[^MaxInputTokens..];
    }

    /// <summary>What a training step minimises, as asked; see <see cref="ClassificationLoss"/>.</summary>
    public ClassificationLoss TrainingLoss { get; init; } = ClassificationLoss.Vocabulary;

    /// <summary>The loss a training step uses: <see cref="TrainingLoss"/> with Auto decided by the task's
    /// labels.</summary>
    public ClassificationLoss EffectiveLoss => TrainingLoss != ClassificationLoss.Auto ? TrainingLoss
        : _labelChoice is null ? ClassificationLoss.Vocabulary : ClassificationLoss.LabelChoice;

    /// <summary>Why the labels do not part at one token ("" when they do): what the label-choice loss would
    /// refuse.</summary>
    public string LabelChoiceProblem => _labelChoiceProblem;

    /// <summary>Where the labels part, when a training step uses the label-choice loss; null under the vocabulary
    /// loss. Asking for the label-choice loss on labels that do not part is refused with the reason.</summary>
    public (int Shared, int[] Tokens)? TrainingChoice => EffectiveLoss == ClassificationLoss.LabelChoice
        ? _labelChoice ?? throw new ArgumentException(_labelChoiceProblem)
        : null;

    /// <summary>The label-choice loss of rows whose predicting positions are in <paramref name="predicting"/> (R, D):
    /// row i's choice is read at position firstTargets[i] + Shared, its gold label is labels[i].</summary>
    internal Tensor LabelChoiceLoss(Tape tape, Tensor predicting, IEnumerable<int> firstTargets,
        IEnumerable<string> labels)
    {
        var (shared, tokens) = TrainingChoice ?? throw new InvalidOperationException(
            "This classifier trains with the vocabulary loss.");
        var order = Task.Labels.ToList();
        var choosing = Fn.Embedding(tape, predicting, firstTargets.Select(start => start + shared).ToArray());
        return Fn.CrossEntropy(tape, _model.LogitsOf(tape, choosing, tokens),
            labels.Select(label => order.IndexOf(label)).ToArray());
    }

    /// <summary>The loss of a training step: the mean cross-entropy of the gold labels' tokens over the vocabulary, or,
    /// for <see cref="ClassificationLoss.LabelChoice"/>, over the labels' tokens where they part.</summary>
    public Tensor Loss(Tape tape, IReadOnlyList<LabeledExample> batch)
    {
        int padding = _tokenizer.EosId ?? 0;
        if (TrainingChoice is var (shared, _))
        {
            // Each row runs through the labels' shared first tokens (a SentencePiece "▁", say); the choice is at the
            // next one.
            var (hidden, _, rowStarts) = PromptedSequences.Predicting(tape, _model, Prompt,
                batch.Select(e => (InputTokens(e), _labelIds[e.Label][..(shared + 1)])).ToList(), padding, Adapter);
            return LabelChoiceLoss(tape, hidden, rowStarts[..^1], batch.Select(e => e.Label));
        }
        var rows = batch.Select(e => (InputTokens(e), _labelIds[e.Label])).ToList();
        var (logits, targets, _) = PromptedSequences.Logits(tape, _model, Prompt, rows, padding, Adapter);
        return Fn.CrossEntropy(tape, logits, targets);
    }

    /// <summary>Where the labels' tokens part: the number of first tokens all labels share (0 for " yes" / " no"; 1
    /// for a SentencePiece "▁" before each word), and each label's token there, in
    /// <see cref="ClassificationTask.Labels"/> order. Refused when two labels are still the same there, or one ends
    /// before they part.</summary>
    public static (int Shared, int[] Tokens) LabelChoice(ClassificationTask task, IReadOnlyDictionary<string,
        int[]> labelTokens) =>
        TryLabelChoice(task, labelTokens, out var problem) ?? throw new ArgumentException(problem);

    /// <summary><see cref="LabelChoice"/>, or null with the reason when the labels do not part at one token.</summary>
    public static (int Shared, int[] Tokens)? TryLabelChoice(ClassificationTask task, IReadOnlyDictionary<string,
        int[]> labelTokens, out string problem)
    {
        var sequences = task.Labels.Select(l => labelTokens[l]).ToArray();
        int shared = 0;
        while (sequences.All(t => t.Length > shared) && sequences.All(t => t[shared] == sequences[0][shared])) shared++;
        const string Remedy =
            "so a loss over the labels' choice cannot tell them apart; train with the vocabulary loss (--loss " +
            "vocabulary) or change the verbalizer.";
        for (int i = 0; i < sequences.Length; i++)
        {
            if (sequences[i].Length <= shared)
            {
                problem =
                    $"Task {task.Name}: label \"{task.Labels[i]}\" is written as the start of another label's words, " +
                    $"{Remedy}";
                return null;
            }
            for (int j = i + 1; j < sequences.Length; j++)
                if (sequences[j].Length > shared && sequences[i][shared] == sequences[j][shared])
                {
                    problem =
                        $"Task {task.Name}: labels \"{task.Labels[i]}\" and \"{task.Labels[j]}\" are written with " +
                        $"the same token where the labels part, {Remedy}";
                    return null;
                }
        }
        problem = "";
        return (shared, sequences.Select(t => t[shared]).ToArray());
    }

    /// <summary>Log-probability of each label for each example: [example][label in Task.Labels order].</summary>
    public double[][] LabelScores(IReadOnlyList<LabeledExample> examples, bool perToken = false, int rowsPerBatch = 16)
    {
        var scores = MixedScoring.LabelScores(_model, examples.Select(e => (this, e)).ToList(), rowsPerBatch);
        if (perToken)
            foreach (var perLabel in scores)
                for (int l = 0; l < perLabel.Length; l++) perLabel[l] /= _labelIds[Task.Labels[l]].Length;
        return scores;
    }

    /// <summary>The predicted label of each example.</summary>
    string[] ILabelPredictor.Predict(IReadOnlyList<LabeledExample> examples) => Predict(examples);

    public string[] Predict(IReadOnlyList<LabeledExample> examples, bool perToken = false) =>
        LabelPredictorExtensions.HighestScoring(LabelScores(examples, perToken), Task.Labels);

    public double Accuracy(IReadOnlyList<LabeledExample> examples, bool perToken = false) =>
        Evaluate(examples, perToken).Accuracy;

    /// <summary>Accuracy and macro-F1 of the model's predictions.</summary>
    public (double Accuracy, double MacroF1) Evaluate(IReadOnlyList<LabeledExample> examples, bool perToken = false)
    {
        var predicted = Predict(examples, perToken);
        var gold = examples.Select(e => e.Label).ToArray();
        return (gold.Where((g, i) => g == predicted[i]).Count() / (double)gold.Length,
            MacroF1(gold, predicted, Task.Labels));
    }

    /// <summary>The unweighted mean over labels of each label's F1; a label neither present nor predicted is left
    /// out.</summary>
    public static double MacroF1(IReadOnlyList<string> gold, IReadOnlyList<string> predicted,
        IEnumerable<string> labels)
    {
        var f1s = new List<double>();
        foreach (var label in labels)
        {
            int truePositive = gold.Where((g, i) => g == label && predicted[i] == label).Count();
            int predictedCount = predicted.Count(p => p == label), actualCount = gold.Count(g => g == label);
            if (predictedCount == 0 && actualCount == 0) continue;
            f1s.Add(2.0 * truePositive / (predictedCount + actualCount));
        }
        return f1s.Count == 0 ? 0 : f1s.Average();
    }

    /// <summary>Which validation state training keeps (<see cref="KeptStateCriterion"/>).</summary>
    public KeptStateCriterion KeepBy { get; init; }

    double IPromptObjective<LabeledExample>.Score(IReadOnlyList<LabeledExample> examples)
    {
        var (accuracy, macroF1) = Evaluate(examples, LengthNormalized);
        // Past the accuracy bar the combined score is 1 + macro-F1: a person reads both figures instead.
        _figuresOfLastScore = KeepBy == KeptStateCriterion.MacroF1AboveMajority
            ? new Dictionary<string, double> { ["accuracy"] = accuracy, ["macro_f1"] = macroF1 }
            : null;
        return KeptStates.Score(KeepBy, accuracy, macroF1, examples.Select(e => e.Label).ToArray());
    }

    private Dictionary<string, double>? _figuresOfLastScore;
    IReadOnlyDictionary<string, double>? IPromptObjective<LabeledExample>.FiguresOfLastScore => _figuresOfLastScore;

    public string ScoreName => KeptStates.ScoreName(KeepBy);
}
