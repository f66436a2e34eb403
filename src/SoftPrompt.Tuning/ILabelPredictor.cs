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
    public static (double Accuracy, double MacroF1) Evaluate(this ILabelPredictor predictor, IReadOnlyList<LabeledExample> examples)
        => Score(examples, predictor.Predict(examples), predictor.Task.Labels);

    /// <summary>Accuracy and macro-F1 of predicted labels against the examples' own.</summary>
    public static (double Accuracy, double MacroF1) Score(IReadOnlyList<LabeledExample> examples, string[] predicted, IReadOnlyList<string> labels)
    {
        var gold = examples.Select(e => e.Label).ToArray();
        return (gold.Where((g, i) => g == predicted[i]).Count() / (double)gold.Length,
            PromptTuning.PromptClassifier.MacroF1(gold, predicted, labels));
    }
}
