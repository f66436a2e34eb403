using System.Text.RegularExpressions;
using SoftPrompt.Data.Tasks;
using SoftPrompt.Data.Tokenizers;

namespace SoftPrompt.Tuning.PTuning;

/// <summary>
/// A P-tuning template: the task's text with trained vectors anywhere, in the task templates' own brace syntax:
/// {field} is a field of the row, {soft} one trained vector and {soft*k} k in a row (OpenPrompt's soft tokens), e.g.
/// "{soft*3}Review: {text}{soft*3} Was the food great?" — the words left in it are P-tuning's anchor tokens. Templates
/// saved before this syntax wrote [P] and [P*k]; those still read.
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
            string digits = m.Groups[1].Success ? m.Groups[1].Value : m.Groups[2].Value;
            int count = SoftSlot.CountOf(digits)
                ?? throw new ArgumentException(
                    $"P-tuning template \"{template}\": {m.Value} must ask for 1 to {SoftSlot.MaxCount} soft tokens.");
            _pieces.Add((null, count));
            at = m.Index + m.Length;
        }
        if (at < template.Length) _pieces.Add((template[at..], 0));
        PseudoTokens = _pieces.Sum(p => p.PseudoTokens);
        if (requirePseudoTokens && PseudoTokens == 0)
            throw new ArgumentException($"P-tuning template \"{template}\" has no {{soft}} slot for a trained vector.");
    }

    /// <summary>A template that may have no {soft} slot at all: plain prompt design, the zero-shot baseline P-tuning
    /// improves on.</summary>
    public static PTuningTemplate Plain(string template) => new(template, requirePseudoTokens: false);

    public string Text { get; }
    public int PseudoTokens { get; }

    /// <summary>P-tuning's usual shape around a task's own template: half the pseudo tokens before it, half
    /// after.</summary>
    public static PTuningTemplate Around(string taskTemplate, int pseudoTokens)
    {
        if (pseudoTokens < 1)
            throw new ArgumentException($"P-tuning needs at least one pseudo token (got {pseudoTokens}).");
        int before = pseudoTokens / 2, after = pseudoTokens - before;
        return new PTuningTemplate((before > 0 ? $"{{soft*{before}}}" : "") + taskTemplate + $"{{soft*{after}}}");
    }

    /// <summary>
    /// The example's tokens with placeholder ids where the pseudo tokens go, and those slots. Text pieces are encoded
    /// one by one; over <paramref name="maxTokens"/>, the longest piece (the input, in practice) loses its beginning.
    /// </summary>
    public (int[] Tokens, int[] Slots) Encode(ITokenizer tokenizer, IReadOnlyDictionary<string, string> fields,
        int maxTokens, int placeholderId)
    {
        var encoded = _pieces.Select(p => p.Text is null ? null : tokenizer.Encode(TaskFile.Fill(p.Text, fields)))
            .ToList();
        int total = _pieces.Select((p, i) => encoded[i]?.Length ?? p.PseudoTokens).Sum();
        if (total > maxTokens)
        {
            int longest = Enumerable.Range(0, encoded.Count).Where(i => encoded[i] is not null).MaxBy(i =>
                encoded[i]!.Length);
            int keep = encoded[longest]!.Length - (total - maxTokens);
            if (keep < 1)
                throw new ArgumentException(
                    $"P-tuning template \"{Text}\" needs more than the {maxTokens} positions the model has.");
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

    // {soft} or {soft*k}; the older [P] or [P*k].
    [GeneratedRegex(SoftSlot.Syntax + @"|\[P(?:\*(\d+))?\]")]
    private static partial Regex Marker();
}
