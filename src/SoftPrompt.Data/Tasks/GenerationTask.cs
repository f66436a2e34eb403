namespace SoftPrompt.Data.Tasks;

/// <summary>A generation example: the fields its templates read.</summary>
public sealed record TextExample(IReadOnlyDictionary<string, string> Fields);

/// <summary>
/// A generation task: the input template and the target template, e.g. "{word} ({pos}):" → " {gloss}". The model
/// learns the target as the continuation of the input; loss falls on the target tokens only.
/// </summary>
public sealed record GenerationTask(string Name, string Template, string TargetTemplate)
{
    public string Render(TextExample example) => TaskFile.Fill(Template, example.Fields);
    public string Target(TextExample example) => TaskFile.Fill(TargetTemplate, example.Fields);

    public static bool IsBuiltIn(string name) => name == "wordnet-gloss";

    public static GenerationTask BuiltIn(string name) => name switch
    {
        "wordnet-gloss" => new GenerationTask(name, "{word} ({pos}):", " {gloss}"),
        _ => throw new ArgumentException($"No built-in generation task '{name}' (built in: wordnet-gloss)."),
    };

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
