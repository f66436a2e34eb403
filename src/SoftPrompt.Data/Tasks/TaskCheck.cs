using System.Text.Json;

namespace SoftPrompt.Data.Tasks;

/// <summary>One split's counts: rows read, rows per label (classification), and the length of the filled template's
/// input fields in characters.</summary>
public sealed record SplitSummary(string Split, int Rows, IReadOnlyDictionary<string, int> Labels, int MinChars,
    int MedianChars, int MaxChars);

/// <summary>What `softprompt task check DIR` reports: every bad row by file and line, and the numbers a user needs
/// before training (counts, label shares, the majority rate to beat, lengths, texts shared between splits).</summary>
/// <param name="Kind">task.json's kind, or null when it could not be read.</param>
public sealed record TaskCheckReport(TaskFolder Folder, string? Kind, ClassificationTask? Definition,
    IReadOnlyList<SplitSummary> Splits,
    IReadOnlyList<string> Problems, int TextsInTwoSplits)
{
    /// <summary>The label most common in the training split, and its share of the test split (what "always answer
    /// it" scores there).</summary>
    public (string Label, double TestShare)? Majority
    {
        get
        {
            var train = Splits.FirstOrDefault(s => s.Split == "train");
            var test = Splits.FirstOrDefault(s => s.Split == "test");
            if (train is null || train.Labels.Count == 0) return null;
            string label = train.Labels.MaxBy(p => p.Value).Key;
            return (label, test is { Rows: > 0 } ? test.Labels.GetValueOrDefault(label) / (double)test.Rows
                : double.NaN);
        }
    }
}

public static class TaskCheck
{
    public static readonly string[] SplitNames = { "train", "validation", "test" };
    private const int MaxProblemsPerFile = 50;

    /// <summary>Reads every row of the folder's splits without stopping at the first bad one.</summary>
    public static TaskCheckReport Run(TaskFolder folder)
    {
        if (!Directory.Exists(folder.Directory))
            throw new DirectoryNotFoundException($"{folder.Directory}: no such task folder.");
        var problems = new List<string>();
        ClassificationTask? definition = null; // rows of generation and tagging tasks are checked as JSON only
        string? kind = null;
        try
        {
            var task = TaskDefinition.Load(folder.Directory, folder.Name);
            (kind, definition) = (task.Kind, task as ClassificationTask);
        }
        catch (InvalidDataException e) { problems.Add(e.Message); }
        var fields = definition is null ? new List<string>() : TaskFile.Slots(definition.Template).ToList();
        var splits = new List<SplitSummary>();
        var splitOfText = new Dictionary<string, string>();
        int shared = 0;
        foreach (var split in SplitNames)
        {
            string path = folder.Split(split);
            if (!File.Exists(path)) { problems.Add($"{path}: missing."); continue; }
            var labels = new SortedDictionary<string, int>(StringComparer.Ordinal);
            var lengths = new List<int>();
            int rows = 0, fileProblems = 0, lineNumber = 0;
            void Problem(string message)
            {
                if (++fileProblems <= MaxProblemsPerFile) problems.Add(message);
                else if (fileProblems == MaxProblemsPerFile + 1) problems.Add($"{path}: more problems not listed.");
            }
            foreach (var line in File.ReadLines(path))
            {
                lineNumber++;
                if (string.IsNullOrWhiteSpace(line)) continue;
                Dictionary<string, string> row;
                try
                {
                    using var doc = JsonDocument.Parse(line);
                    if (doc.RootElement.ValueKind != JsonValueKind.Object) { Problem(
                        $"{path}, line {lineNumber}: not a JSON object."); continue; }
                    row = TaskFile.Fields(doc.RootElement);
                }
                catch (Exception e) when (e is JsonException or InvalidOperationException)
                {
                    Problem($"{path}, line {lineNumber}: not valid JSON text ({e.Message.Split('.')[0]}).");
                    continue;
                }
                rows++;
                if (definition is null) continue;
                if (!row.TryGetValue(definition.LabelField, out var label)) Problem(
                    $"{path}, line {lineNumber}: no \"{definition.LabelField}\" field.");
                else if (!definition.Verbalizer.ContainsKey(label))
                    Problem($"{path}, line {lineNumber}: label \"{label}\" is not one of " +
                        $"{string.Join(", ", definition.Labels)}.");
                else labels[label] = labels.GetValueOrDefault(label) + 1;
                var missing = fields.Where(f => !row.ContainsKey(f)).ToList();
                if (missing.Count > 0) { Problem(
                    $"{path}, line {lineNumber}: no {string.Join(", ", missing.Select(f => $"\"{f}\""))} field for " +
                    $"the template."); continue; }
                string input = string.Join("\n", fields.Select(f => row[f]));
                if (input.Trim().Length == 0) Problem($"{path}, line {lineNumber}: the template's fields are empty.");
                lengths.Add(input.Length);
                if (splitOfText.TryGetValue(input, out var first) && first != split) shared++;
                else splitOfText.TryAdd(input, split);
            }
            if (rows == 0) Problem($"{path}: no rows.");
            lengths.Sort();
            splits.Add(new SplitSummary(split, rows, labels, lengths.FirstOrDefault(), lengths.Count == 0 ? 0
                : lengths[lengths.Count / 2], lengths.LastOrDefault()));
        }
        var train = splits.FirstOrDefault(s => s.Split == "train");
        if (definition is not null && train is not null)
            foreach (var label in definition.Labels.Where(l => train.Labels.GetValueOrDefault(l) == 0))
                problems.Add($"{folder.Split("train")}: no row has the label \"{label}\"; nothing teaches it.");
        return new TaskCheckReport(folder, kind, definition, splits, problems, shared);
    }
}
