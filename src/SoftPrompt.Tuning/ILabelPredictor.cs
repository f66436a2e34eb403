using SoftPrompt.Data.Tasks;

namespace SoftPrompt.Tuning;

/// <summary>Any trained classifier, whatever reads its answer (a verbalizer, a head): what evaluation needs.</summary>
public interface ILabelPredictor
{
    ClassificationTask Task { get; }
    string[] Predict(IReadOnlyList<LabeledExample> examples);
}

public static class LabelPredictorExtensions
{
    /// <summary>Accuracy and macro-F1 of the predictor on labelled examples.</summary>
    public static (double Accuracy, double MacroF1) Evaluate(this ILabelPredictor predictor,
        IReadOnlyList<LabeledExample> examples)
        => Score(examples, predictor.Predict(examples), predictor.Task.Labels);

    /// <summary>The most common label among the examples (the first seen of tied ones), and what always answering it
    /// scores: the baseline every classification figure is read against.</summary>
    /// <summary>Each row's label with the highest score (<paramref name="scores"/>[row][label in
    /// <paramref name="labels"/> order]); the first such label on a tie.</summary>
    public static string[] HighestScoring(double[][] scores, IReadOnlyList<string> labels) =>
        scores.Select(row => labels[Array.IndexOf(row, row.Max())]).ToArray();

    public static (string Label, double Accuracy, double MacroF1) Majority(IReadOnlyList<LabeledExample> examples,
        IReadOnlyList<string> labels) => Majority(examples.Select(e => e.Label).ToArray(), labels);

    /// <summary>The same for gold labels given as they are (an image task's class names).</summary>
    public static (string Label, double Accuracy, double MacroF1) Majority(string[] gold, IReadOnlyList<string> labels)
    {
        string majority = gold.GroupBy(label => label).OrderByDescending(g => g.Count()).First().Key;
        var (accuracy, macroF1) = Score(gold, gold.Select(_ => majority).ToArray(), labels);
        return (majority, accuracy, macroF1);
    }

    /// <summary>Accuracy and macro-F1 of predicted labels against the examples' own.</summary>
    public static (double Accuracy, double MacroF1) Score(IReadOnlyList<LabeledExample> examples, string[] predicted,
        IReadOnlyList<string> labels) => Score(examples.Select(e => e.Label).ToArray(), predicted, labels);

    /// <summary>Accuracy and macro-F1 of predicted labels against gold ones.</summary>
    public static (double Accuracy, double MacroF1) Score(string[] gold, string[] predicted,
        IReadOnlyList<string> labels) =>
        (gold.Where((g, i) => g == predicted[i]).Count() / (double)gold.Length,
            PromptTuning.PromptClassifier.MacroF1(gold, predicted, labels));
}
