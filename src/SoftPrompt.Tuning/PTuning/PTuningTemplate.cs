using System.Text.RegularExpressions;
using SoftPrompt.Data.Tasks;
using SoftPrompt.Data.Tokenizers;

namespace SoftPrompt.Tuning.PTuning;

/// <summary>
/// A P-tuning template: the task's text with pseudo tokens anywhere, written [P] (one) or [P*k] (k in a row), e.g.
/// "[P*3]Review: {text}[P*3] Was the food great?" — the words left in it are P-tuning's anchor tokens.
/// </summary>
public sealed partial class PTuningTemplate
{
    private readonly List<(string? Text, int PseudoTokens)> _pieces = new();

    public PTuningTemplate(string template) : this(template, requirePseudoTokens: true) { }

    private PTuningTemplate(string template, bool requirePseudoTokens)
    {
        Text = template;
        int at = 0;
        foreach (Match m in Marker().Matches(template))
        {
            if (m.Index > at) _pieces.Add((template[at..m.Index], 0));
            int count = m.Groups[1].Success ? int.Parse(m.Groups[1].Value) : 1;
            if (count is < 1 or > 512) throw new ArgumentException($"P-tuning template \"{template}\": [P*{m.Groups[1].Value}] must ask for 1 to 512 pseudo tokens.");
            _pieces.Add((null, count));
            at = m.Index + m.Length;
        }
        if (at < template.Length) _pieces.Add((template[at..], 0));
        PseudoTokens = _pieces.Sum(p => p.PseudoTokens);
        if (requirePseudoTokens && PseudoTokens == 0) throw new ArgumentException($"P-tuning template \"{template}\" has no [P] pseudo token.");
    }

    /// <summary>A template that may have no [P] at all: plain prompt design, the zero-shot baseline P-tuning improves on.</summary>
    public static PTuningTemplate Plain(string template) => new(template, requirePseudoTokens: false);

    public string Text { get; }
    public int PseudoTokens { get; }

    /// <summary>P-tuning's usual shape around a task's own template: half the pseudo tokens before it, half after.</summary>
    public static PTuningTemplate Around(string taskTemplate, int pseudoTokens)
    {
        if (pseudoTokens < 1) throw new ArgumentException($"P-tuning needs at least one pseudo token (got {pseudoTokens}).");
        int before = pseudoTokens / 2, after = pseudoTokens - before;
        return new PTuningTemplate((before > 0 ? $"[P*{before}]" : "") + taskTemplate + $"[P*{after}]");
    }

    /// <summary>
    /// The example's tokens with placeholder ids where the pseudo tokens go, and those slots. Text pieces are encoded
    /// one by one; over <paramref name="maxTokens"/>, the longest piece (the input, in practice) loses its beginning.
    /// </summary>
    public (int[] Tokens, int[] Slots) Encode(ITokenizer tokenizer, IReadOnlyDictionary<string, string> fields, int maxTokens, int placeholderId)
    {
        var encoded = _pieces.Select(p => p.Text is null ? null : tokenizer.Encode(TaskFile.Fill(p.Text, fields))).ToList();
        int total = _pieces.Select((p, i) => encoded[i]?.Length ?? p.PseudoTokens).Sum();
        if (total > maxTokens)
        {
            int longest = Enumerable.Range(0, encoded.Count).Where(i => encoded[i] is not null).MaxBy(i => encoded[i]!.Length);
            int keep = encoded[longest]!.Length - (total - maxTokens);
            if (keep < 1) throw new ArgumentException($"P-tuning template \"{Text}\" needs more than the {maxTokens} positions the model has.");
            encoded[longest] = encoded[longest]![^keep..];
        }
        var tokens = new List<int>();
        var slots = new List<int>();
        for (int i = 0; i < _pieces.Count; i++)
        {
            if (encoded[i] is { } ids) { tokens.AddRange(ids); continue; }
            for (int k = 0; k < _pieces[i].PseudoTokens; k++)
            {
                slots.Add(tokens.Count);
                tokens.Add(placeholderId);
            }
        }
        return (tokens.ToArray(), slots.ToArray());
    }

    [GeneratedRegex(@"\[P(?:\*(\d+))?\]")]
    private static partial Regex Marker();
}
