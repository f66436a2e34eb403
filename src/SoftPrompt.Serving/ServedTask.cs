using SoftPrompt.Data.Tasks;
using SoftPrompt.Tuning;
using SoftPrompt.Tuning.PromptTuning;

namespace SoftPrompt.Serving;

/// <summary>One adapter the server holds: its name, its task's definition, its method (a soft prompt, layer hooks) and
/// the classifier or generator built over the shared model.</summary>
public sealed record ServedTask(string Name, ITaskDefinition Definition, string Method, PromptEmbedding? Prompt,
    IModelAdapter? Adapter,
    PromptClassifier? Classifier, PromptGenerator? Generator)
{
    /// <summary>The training curve the adapter directory recorded (softprompt_training_curve.json), if any.</summary>
    public System.Text.Json.JsonElement? Curve { get; init; }

    public string TaskName => Definition.Name;
    public string Kind => Definition.Kind;
    public IReadOnlyList<string> Labels => Classifier?.Task.Labels ?? Array.Empty<string>();

    private string Template => Definition switch
    {
        ClassificationTask c => c.Template,
        GenerationTask g => g.Template,
        _ => throw new InvalidOperationException($"Task {TaskName}: a {Kind} task is not served."),
    };

    /// <summary>
    /// The input fields of a request for this task's template: a field the request names is taken from it, the
    /// template's first field is the request's "text" otherwise, and a generation task's defaults fill the rest.
    /// A field none of these gives is an <see cref="ArgumentException"/> naming it (the server answers 400).
    /// </summary>
    public Dictionary<string, string> InputFields(string text, Func<string, string?> requestField)
    {
        var defaults = (Definition as GenerationTask)?.Defaults;
        var fields = new Dictionary<string, string>();
        var slots = TaskFile.Slots(Template).ToList();
        foreach (var slot in slots)
            fields[slot] = requestField(slot) ?? (slot == slots[0] ? text : null) ?? defaults?.GetValueOrDefault(slot)
                ?? throw new ArgumentException(
                    $"Task {TaskName}'s template needs \"{slot}\" (a string field of the request) besides \"text\".");
        return fields;
    }

    public LabeledExample Example(IReadOnlyDictionary<string, string> fields) =>
        new(fields, Classifier!.Task.Labels[0]);
}
