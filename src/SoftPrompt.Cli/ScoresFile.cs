using System.Text.Json;
using SoftPrompt.Data.Tasks;
using SoftPrompt.Tuning;

namespace SoftPrompt.Cli;

/// <summary>`eval --scores FILE`: each example's label log-probabilities as JSON lines, written atomically.</summary>
internal static class ScoresFile
{
    /// <summary>Writes the file and returns the accuracy and macro-F1 of the scores' predictions (the highest score;
    /// the first label on a tie, as the classifier predicts).</summary>
    public static (double Accuracy, double MacroF1) Write(string path, IReadOnlyList<LabeledExample> rows,
        IReadOnlyList<string> labels, double[][] scores)
    {
        var predicted = LabelPredictorExtensions.HighestScoring(scores, labels);
        string temporary = path + ".tmp";
        using (var writer = new StreamWriter(temporary))
            for (int i = 0; i < rows.Count; i++)
                writer.WriteLine(JsonSerializer.Serialize(new
                {
                    row = i, label = rows[i].Label, predicted = predicted[i],
                    scores = labels.Select((label, l) => (label, l)).ToDictionary(p => p.label,
                        p => Math.Round(scores[i][p.l], 5)),
                }));
        File.Move(temporary, path, overwrite: true);
        return LabelPredictorExtensions.Score(rows, predicted, labels);
    }
}
