namespace SoftPrompt.Data.Tasks;

/// <summary>One labelled example: the fields a template fills in, and the gold label.</summary>
public sealed record LabeledExample(IReadOnlyDictionary<string, string> Fields, string Label);

/// <summary>
/// How a classification example becomes text (OpenPrompt's split: the template renders the input, the verbalizer
/// says how each label is written), e.g. "Review: {text}\nSentiment:" and great → " great". A masked LM reads the label
/// inside the text instead, at a [MASK]: <paramref name="ClozeTemplate"/> is the template written that way.
/// </summary>
public sealed record ClassificationTask(string Name, string Template, IReadOnlyDictionary<string, string> Verbalizer,
    string LabelField = "label",
    string? ClozeTemplate = null) : ITaskDefinition
{
    public string Kind => "classification";

    /// <summary>The {soft} slot the task's template.json wrote at its start or end (kept apart from
    /// <see cref="Template"/>, which every method renders): where prompt tuning puts its vectors, and how
    /// many.</summary>
    public SoftSlot? Soft { get; init; }

    public IReadOnlyList<string> Labels => Verbalizer.Keys.ToList();

    /// <summary>The task as an encoder's MLM head reads it: the cloze template (or the template itself, when it already
    /// holds a [MASK]) in place of the template, the same labels and verbalizer words.</summary>
    public ClassificationTask AsCloze() => Template.Contains("[MASK]") ? this
        : this with { Template = ClozeTemplate ?? throw new ArgumentException(
            $"Task {Name} has no cloze template (one with a [MASK] for the label word), which an encoder needs to " +
            $"read its verbalizer.") };

    /// <summary>The template with each {field} replaced by the example's value.</summary>
    public string Render(LabeledExample example) => TaskFile.Fill(Template, example.Fields);

    /// <summary>An example written out with its answer, as an in-context demonstration.</summary>
    public string Demonstration(LabeledExample example) => Render(example) + Verbalizer[example.Label];

    /// <summary>
    /// k demonstrations for few-shot prompting, cycling through the labels so each is shown, each the shortest of a
    /// fixed random sample of its label's examples (so they fit a small context); joined by blank lines.
    /// </summary>
    public string FewShotPrefix(IReadOnlyList<LabeledExample> pool, int k, int seed)
    {
        if (k <= 0) return "";
        var rng = new Random(seed);
        var byLabel = Labels.Select(l => pool.Where(e => e.Label == l).OrderBy(_ => rng.Next()).Take(50).OrderBy(e =>
            Render(e).Length).ToList())
            .Where(list => list.Count > 0).ToList();
        var chosen = new List<LabeledExample>();
        for (int i = 0; chosen.Count < k && i < k * byLabel.Count; i++)
        {
            var list = byLabel[i % byLabel.Count];
            int index = i / byLabel.Count;
            if (index < list.Count) chosen.Add(list[index]);
        }
        return string.Concat(chosen.OrderBy(_ => rng.Next()).Select(e => Demonstration(e) + "\n\n"));
    }

    /// <summary>Reads a JSONL split; every row must have a label the verbalizer knows.</summary>
    public List<LabeledExample> ReadSplit(string path)
    {
        var examples = new List<LabeledExample>();
        foreach (var (line, fields) in TaskFile.ReadRows(path))
        {
            if (!fields.TryGetValue(LabelField, out var label))
                throw new InvalidDataException($"{path}, line {line}: no \"{LabelField}\" field.");
            if (!Verbalizer.ContainsKey(label))
                throw new InvalidDataException(
                    $"{path}, line {line}: label \"{label}\" is not one of {string.Join(", ", Labels)}.");
            examples.Add(new LabeledExample(fields, label));
        }
        return examples;
    }
}
