using System.Text.Json;

namespace SoftPrompt.Data.Tasks;

/// <summary>JSONL task files and the templates that turn their rows into text.</summary>
public static class TaskFile
{
    /// <summary>Each row's string and number fields, with its line number for error messages.</summary>
    public static List<(int Line, Dictionary<string, string> Fields)> ReadRows(string path) =>
        ReadJsonLines(path, (row, line) => (line, Fields(row)));

    /// <summary>A row object's string and number fields as text (numbers as written); other fields are left
    /// out.</summary>
    public static Dictionary<string, string> Fields(JsonElement row) => row.EnumerateObject()
        .Where(p => p.Value.ValueKind is JsonValueKind.String or JsonValueKind.Number)
        .ToDictionary(p => p.Name, p => p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()!
            : p.Value.GetRawText());

    /// <summary>Each non-blank line's JSON object, turned into a <typeparamref name="T"/> by <paramref name="parse"/>
    /// (given the object and its line number); errors name the file and line.</summary>
    public static List<T> ReadJsonLines<T>(string path, Func<JsonElement, int, T> parse)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"No task file at '{path}'.", path);
        var rows = new List<T>();
        int lineNumber = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            try
            {
                using var doc = JsonDocument.Parse(line);
                if (doc.RootElement.ValueKind != JsonValueKind.Object)
                    throw new InvalidDataException($"{path}, line {lineNumber}: a row must be a JSON object.");
                rows.Add(parse(doc.RootElement, lineNumber));
            }
            catch (JsonException e)
            {
                throw new InvalidDataException($"{path}, line {lineNumber}: not valid JSON ({e.Message}).", e);
            }
            catch (InvalidOperationException e) // a string that is not valid UTF-8, found only when read
            {
                throw new InvalidDataException($"{path}, line {lineNumber}: unreadable text ({e.Message}).", e);
            }
        }
        if (rows.Count == 0) throw new InvalidDataException($"{path}: no examples.");
        return rows;
    }

    /// <summary>
    /// At most <paramref name="count"/> rows spread evenly over the split (0 or more than there are: all of them).
    /// Splits are often ordered (by document, by label), so the first rows alone would be a biased sample.
    /// </summary>
    public static List<T> EvenSubset<T>(List<T> rows, int count)
    {
        if (count <= 0 || count >= rows.Count) return rows;
        return Enumerable.Range(0, count).Select(i => rows[(int)((long)i * rows.Count / count)]).ToList();
    }

    /// <summary>
    /// The rows with each label's rows repeated, in order and cycling, up to the most frequent label's count: a batch
    /// drawn uniformly from the result sees every label equally often (class-balanced training of an imbalanced task,
    /// which trades the label prior for macro-F1).
    /// </summary>
    public static List<T> BalancedByLabel<T>(IReadOnlyList<T> rows, Func<T, string> labelOf)
    {
        var byLabel = rows.GroupBy(labelOf).Select(g => g.ToList()).ToList();
        int most = byLabel.Count == 0 ? 0 : byLabel.Max(g => g.Count);
        return byLabel.SelectMany(g => Enumerable.Range(0, most).Select(i => g[i % g.Count])).ToList();
    }

    /// <summary>The template with each {field} replaced by the row's value.</summary>
    public static string Fill(string template, IReadOnlyDictionary<string, string> fields)
    {
        var text = new System.Text.StringBuilder(template.Length + 256);
        foreach (var (piece, isField) in Segments(template))
        {
            if (!isField) { text.Append(piece); continue; }
            if (!fields.TryGetValue(piece, out var value))
                throw new KeyNotFoundException(
                    $"Template field {{{piece}}} is not in the example (fields: {string.Join(", ", fields.Keys)}).");
            text.Append(value);
        }
        return text.ToString();
    }

    /// <summary>The {field} names a template shows, each once, in order.</summary>
    public static IEnumerable<string> Slots(string template) => Segments(template).Where(s => s.IsField).Select(s =>
        s.Text).Distinct();

    /// <summary>A template's pieces in order: literal text, or (IsField) the name between braces.</summary>
    private static IEnumerable<(string Text, bool IsField)> Segments(string template)
    {
        int i = 0;
        while (i < template.Length)
        {
            int open = template.IndexOf('{', i);
            if (open < 0) { yield return (template[i..], false); yield break; }
            int close = template.IndexOf('}', open);
            if (close < 0) throw new FormatException($"Template \"{template}\" has a '{{' without a closing '}}'.");
            if (open > i) yield return (template[i..open], false);
            yield return (template[(open + 1)..close], true);
            i = close + 1;
        }
    }
}
