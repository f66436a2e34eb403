namespace SoftPrompt.Data.Tasks;

/// <summary>A generation example: the fields its templates read.</summary>
public sealed record TextExample(IReadOnlyDictionary<string, string> Fields);

/// <summary>
/// A generation task: the input template and the target template, e.g. "{word} ({pos}):" → " {gloss}". The model
/// learns the target as the continuation of the input; loss falls on the target tokens only.
/// </summary>
public sealed record GenerationTask(string Name, string Template, string TargetTemplate) : ITaskDefinition
{
    public string Kind => "generation";

    /// <summary>Values for input fields a request may leave out (e.g. the part of speech of a word to
    /// define).</summary>
    public IReadOnlyDictionary<string, string> Defaults { get; init; } = new Dictionary<string, string>();

    public string Render(TextExample example) => TaskFile.Fill(Template, example.Fields);
    public string Target(TextExample example) => TaskFile.Fill(TargetTemplate, example.Fields);

    /// <summary>Reads a JSONL split; every row must fill both templates.</summary>
    public List<TextExample> ReadSplit(string path)
    {
        var examples = new List<TextExample>();
        foreach (var (line, fields) in TaskFile.ReadRows(path))
        {
            var example = new TextExample(fields);
            try { Render(example); Target(example); }
            catch (KeyNotFoundException e) { throw new InvalidDataException($"{path}, line {line}: {e.Message}", e); }
            examples.Add(example);
        }
        return examples;
    }
}
