using System.Text.Json;
using System.Text.Json.Nodes;

namespace SoftPrompt.Data.Tasks;

/// <summary>A task of any kind, as its task.json defines it: <see cref="ClassificationTask"/>,
/// <see cref="GenerationTask"/> or <see cref="TaggingTask"/>. Commands choose what to run by the kind, never by the
/// task's name.</summary>
public interface ITaskDefinition
{
    string Name { get; }
    /// <summary>"classification", "generation" or "tagging": task.json's "kind".</summary>
    string Kind { get; }
}

/// <summary>
/// A task's definition as data (OpenPrompt's habit: templates and verbalizers live beside the data, not in the model
/// code): `task.json` in the task's folder, one of
/// <code>{"kind": "classification", "template": "Review: {text}\nQuestion: …\nAnswer:",
/// "verbalizer": {"great": " yes", "other": " no"}, "cloze_template": "Review: {text} It was [MASK].", "label_field":
/// "label"} {"kind": "generation", "template": "{word} ({pos}):", "target_template": " {gloss}", "defaults": {"pos":
/// "noun"}} {"kind": "tagging", "tags": ["NOUN", "VERB", …], "tokens_field": "tokens", "tags_field": "tags"}</code>
/// Every task folder needs one; the shipped tasks have theirs.
/// </summary>
public static class TaskDefinition
{
    public const string FileName = "task.json";

    /// <summary>The task in <paramref name="taskDirectory"/>, from its task.json.</summary>
    public static ITaskDefinition Load(string taskDirectory, string name)
    {
        string path = Path.Combine(taskDirectory, FileName);
        if (!File.Exists(path))
            throw new InvalidDataException(
                $"{taskDirectory}: no {FileName} says what the task is (its kind, template and labels); " +
                                           "every task folder needs one (the README's \"Your own task\" shows the " +
                                               "fields).");
        JsonNode? root;
        try { root = JsonNode.Parse(File.ReadAllText(path)); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: not valid JSON ({e.Message})."); }
        if (root is not JsonObject json) throw new InvalidDataException($"{path}: expected a JSON object.");
        return FromJson(json, name, path);
    }

    /// <summary>The classification task in <paramref name="taskDirectory"/>; a task of another kind is an
    /// error.</summary>
    public static ClassificationTask LoadClassification(string taskDirectory, string name) =>
        AsClassification(Load(taskDirectory, name), Path.Combine(taskDirectory, FileName));

    /// <summary>The definition as a classification task, or an error naming <paramref name="source"/> and its
    /// kind.</summary>
    public static ClassificationTask AsClassification(ITaskDefinition task, string source) => task as ClassificationTask
        ?? throw new InvalidDataException(
            $"{source}: task {task.Name} is a {task.Kind} task; this needs a classification task.");

    /// <summary>A definition from its JSON object (a task.json, or the copy an adapter keeps);
    /// <paramref name="source"/> names it in errors, with the field.</summary>
    public static ITaskDefinition FromJson(JsonObject json, string name, string source)
    {
        string? Text(string field, bool required)
        {
            var node = json[field];
            if (node is null) return required ? throw new InvalidDataException($"{source}: no \"{field}\".") : null;
            return node is JsonValue v && v.TryGetValue<string>(out var s) ? s : throw new InvalidDataException(
                $"{source}: \"{field}\" must be a string.");
        }
        string Template(string field) => Checked(field, Text(field, required: true)!);
        // A template's text (a classification template's with its {soft} slot taken out) must show a field of the rows.
        string Checked(string field, string template)
        {
            try
            {
                if (!TaskFile.Slots(template).Any())
                    throw new InvalidDataException(
                        $"{source}: the {field} \"{template}\" shows no {{field}} of the rows.");
            }
            catch (FormatException e) { throw new InvalidDataException($"{source}: \"{field}\": {e.Message}"); }
            return template;
        }
        Dictionary<string, string> Strings(string field, bool required, bool allowEmpty, string what)
        {
            var result = new Dictionary<string, string>();
            if (json[field] is null && !required) return result;
            if (json[field] is not JsonObject map || required && map.Count < 2)
                throw new InvalidDataException($"{source}: \"{field}\" must {what}.");
            foreach (var (key, node) in map)
                result[key] = node is JsonValue v && v.TryGetValue<string>(out var s) && (allowEmpty || s.Length > 0)
                    ? s
                    : throw new InvalidDataException(
                        $"{source}: {field}[\"{key}\"] must be a {(allowEmpty ? "" : "non-empty ")}string.");
            return result;
        }

        string kind = Text("kind", required: false) ?? "classification";
        switch (kind)
        {
            case "classification":
            {
                var (written, soft) = SoftSlot.Split(Text("template", required: true)!, $"{source}: \"template\"");
                string template = Checked("template", written);
                var verbalizer = Strings("verbalizer", required: true, allowEmpty: false,
                    "map each label (at least two) to the text that writes it");
                if (verbalizer.Values.Distinct().Count() != verbalizer.Count)
                    throw new InvalidDataException(
                        $"{source}: two labels are written the same way in the verbalizer; answers could not be told " +
                        $"apart.");
                string? cloze = Text("cloze_template", required: false);
                if (cloze is not null && !cloze.Contains("[MASK]"))
                    throw new InvalidDataException(
                        $"{source}: \"cloze_template\" needs a [MASK] where the label word goes.");
                return new ClassificationTask(name, template, verbalizer, Text("label_field", required: false)
                    ?? "label", cloze) { Soft = soft };
            }
            case "generation":
                return new GenerationTask(name, Template("template"), Template("target_template"))
                {
                    Defaults = Strings("defaults", required: false, allowEmpty: true,
                        "map input fields to the values a request may leave out"),
                };
            case "tagging":
            {
                if (json["tags"] is not JsonArray array || array.Count < 2)
                    throw new InvalidDataException($"{source}: \"tags\" must be an array of at least two tag strings.");
                var tags = array.Select((node, i) => node is JsonValue v && v.TryGetValue<string>(out var s)
                    && s.Length > 0 ? s
                    : throw new InvalidDataException($"{source}: tags[{i}] must be a non-empty string.")).ToList();
                if (tags.Distinct().Count() != tags.Count)
                    throw new InvalidDataException($"{source}: \"tags\" lists a tag twice.");
                return new TaggingTask(name, tags)
                {
                    TokensField = Text("tokens_field", required: false) ?? "tokens", TagsField = Text("tags_field",
                        required: false) ?? "tags",
                };
            }
            default:
                throw new InvalidDataException(
                    $"{source}: \"kind\" is \"{kind}\"; it must be classification, generation or tagging.");
        }
    }

    /// <summary>The definition as the JSON object <see cref="FromJson"/> reads.</summary>
    public static JsonObject ToJson(ITaskDefinition task)
    {
        static JsonObject Map(IEnumerable<KeyValuePair<string, string>> pairs)
        {
            var map = new JsonObject();
            foreach (var (key, value) in pairs) map[key] = value;
            return map;
        }
        var json = new JsonObject { ["kind"] = task.Kind };
        switch (task)
        {
            case ClassificationTask c:
                json["template"] = c.Soft is { } slot ? slot.Attach(c.Template) : c.Template;
                json["verbalizer"] = Map(c.Verbalizer);
                json["label_field"] = c.LabelField;
                if (c.ClozeTemplate is not null) json["cloze_template"] = c.ClozeTemplate;
                break;
            case GenerationTask g:
                json["template"] = g.Template;
                json["target_template"] = g.TargetTemplate;
                if (g.Defaults.Count > 0) json["defaults"] = Map(g.Defaults);
                break;
            case TaggingTask t:
                json["tags"] = new JsonArray(t.Tags.Select(tag => (JsonNode?)JsonValue.Create(tag)).ToArray());
                json["tokens_field"] = t.TokensField;
                json["tags_field"] = t.TagsField;
                break;
            default:
                throw new ArgumentException($"Task {task.Name}: no JSON form for {task.GetType().Name}.");
        }
        return json;
    }
}
