using System.Text.Json;
using System.Text.Json.Nodes;

namespace SoftPrompt.Training.Progress;

/// <summary>
/// Records a run's training loss at every step and each evaluation's metrics while passing the reports on, so the
/// adapter directory can keep its training curve (the served page draws it).
/// </summary>
public sealed class TrainingCurve(ITrainingProgress inner) : ITrainingProgress
{
    public const string FileName = "softprompt_training_curve.json";
    private readonly List<(int Step, float Loss)> _losses = new();
    private readonly List<(int Step, IReadOnlyDictionary<string, double> Metrics)> _evaluations = new();

    public IReadOnlyList<(int Step, float Loss)> Losses => _losses;

    public void Step(StepReport report)
    {
        _losses.Add((report.Step, report.Loss));
        inner.Step(report);
    }

    public void Evaluated(EvaluationReport report)
    {
        if (report.Metrics is not null) _evaluations.Add((report.Step, report.Metrics));
        inner.Evaluated(report);
    }

    public void Message(string text) => inner.Message(text);

    /// <summary>{"steps": [...], "loss": [...], "evaluations": [{"step": s, "metric": value, ...}]}, written
    /// atomically. A resumed run records only the steps it ran itself.</summary>
    public void Save(string directory)
    {
        var evaluations = new JsonArray();
        foreach (var (step, metrics) in _evaluations)
        {
            var entry = new JsonObject { ["step"] = step };
            foreach (var (name, value) in metrics) entry[name] = double.IsFinite(value) ? Math.Round(value, 6) : null;
            evaluations.Add(entry);
        }
        var json = new JsonObject
        {
            ["steps"] = new JsonArray(_losses.Select(l => (JsonNode)l.Step).ToArray()),
            ["loss"] = new JsonArray(_losses.Select(l => (JsonNode?)(float.IsFinite(l.Loss) ? Math.Round(l.Loss, 5)
                : null)).ToArray()),
            ["evaluations"] = evaluations,
        };
        Directory.CreateDirectory(directory);
        string path = Path.Combine(directory, FileName), temporary = path + ".tmp";
        File.WriteAllText(temporary, json.ToJsonString());
        File.Move(temporary, path, overwrite: true);
    }
}
