using System.Text.Json;
using System.Text.Json.Nodes;

namespace SoftPrompt.Data.Tasks;

/// <summary>
/// A classification task's definition as data (OpenPrompt's habit: templates and verbalizers live beside the data, not
/// in the model code): `task.json` in the task's folder,
/// <code>{"kind": "classification", "template": "Review: {text}\nQuestion: …\nAnswer:",
///   "verbalizer": {"great": " yes", "other": " no"}, "cloze_template": "Review: {text} It was [MASK].", "label_field": "label"}</code>
/// A folder without one falls back to the shipped built-in definitions.
/// </summary>
public static class TaskDefinition
{
    public const string FileName = "task.json";

    /// <summary>The task in <paramref name="taskDirectory"/>: its task.json when there is one, else the built-in task
    /// of that name.</summary>
    public static ClassificationTask LoadClassification(string taskDirectory, string name)
    {
        string path = Path.Combine(taskDirectory, FileName);
        return File.Exists(path) ? ReadClassification(path, name) : ClassificationTask.BuiltIn(name);
    }

    /// <summary>Parses a classification task.json; every problem names the file and the field.</summary>
    public static ClassificationTask ReadClassification(string path, string name)
    {
        JsonNode? root;
        try { root = JsonNode.Parse(File.ReadAllText(path)); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: not valid JSON ({e.Message})."); }
        if (root is not JsonObject json) throw new InvalidDataException($"{path}: expected a JSON object.");
        return FromJson(json, name, path);
    }

    /// <summary>A definition from its JSON object (a task.json, or the copy an adapter keeps); <paramref name="source"/>
    /// names it in errors.</summary>
    public static ClassificationTask FromJson(JsonObject json, string name, string source)
    {
        string? Text(string field, bool required)
        {
            var node = json[field];
            if (node is null) return required ? throw new InvalidDataException($"{source}: no \"{field}\".") : null;
            return node is JsonValue v && v.TryGetValue<string>(out var s) ? s : throw new InvalidDataException($"{source}: \"{field}\" must be a string.");
        }
        string kind = Text("kind", required: false) ?? "classification";
        if (kind != "classification") throw new InvalidDataException($"{source}: \"kind\" is \"{kind}\"; only classification tasks are read from task.json yet.");
        string template = Text("template", required: true)!;
        if (!template.Contains('{')) throw new InvalidDataException($"{source}: the template \"{template}\" shows no {{field}} of the rows.");
        if (json["verbalizer"] is not JsonObject words || words.Count < 2)
            throw new InvalidDataException($"{source}: \"verbalizer\" must map each label (at least two) to the text that writes it.");
        var verbalizer = new Dictionary<string, string>();
        foreach (var (label, word) in words)
        {
            if (word is not JsonValue v || !v.TryGetValue<string>(out var text) || text.Length == 0)
                throw new InvalidDataException($"{source}: verbalizer[\"{label}\"] must be a non-empty string.");
            verbalizer[label] = text;
        }
        if (verbalizer.Values.Distinct().Count() != verbalizer.Count)
            throw new InvalidDataException($"{source}: two labels are written the same way in the verbalizer; answers could not be told apart.");
        string? cloze = Text("cloze_template", required: false);
        if (cloze is not null && !cloze.Contains("[MASK]")) throw new InvalidDataException($"{source}: \"cloze_template\" needs a [MASK] where the label word goes.");
        return new ClassificationTask(name, template, verbalizer, Text("label_field", required: false) ?? "label", cloze);
    }

    /// <summary>The definition as the JSON object <see cref="FromJson"/> reads.</summary>
    public static JsonObject ToJson(ClassificationTask task)
    {
        var verbalizer = new JsonObject();
        foreach (var (label, text) in task.Verbalizer) verbalizer[label] = text;
        var json = new JsonObject { ["kind"] = "classification", ["template"] = task.Template, ["verbalizer"] = verbalizer, ["label_field"] = task.LabelField };
        if (task.ClozeTemplate is not null) json["cloze_template"] = task.ClozeTemplate;
        return json;
    }
}
