using SoftPrompt.Data.Tasks;
using SoftPrompt.Tuning;
using SoftPrompt.Tuning.PromptTuning;

namespace SoftPrompt.Serving;

/// <summary>One adapter the server holds: its name, its task, its method (a soft prompt, layer hooks) and the classifier
/// or generator built over the shared model.</summary>
public sealed record ServedTask(string Name, string TaskName, string Method, PromptEmbedding? Prompt, IModelAdapter? Adapter,
    PromptClassifier? Classifier, PromptGenerator? Generator)
{
    /// <summary>The training curve the adapter directory recorded (softprompt_training_curve.json), if any.</summary>
    public System.Text.Json.JsonElement? Curve { get; init; }

    public string Kind => Classifier is not null ? "classification" : "generation";
    public IReadOnlyList<string> Labels => Classifier?.Task.Labels ?? Array.Empty<string>();

    public LabeledExample Example(string text) =>
        new(new Dictionary<string, string> { ["text"] = text }, Classifier!.Task.Labels[0]);
}
