using System.Text.RegularExpressions;

namespace SoftPrompt.Data.Tasks;

/// <summary>Where a template's soft prompt goes: before the input (Lester et al.'s [P; x]) or after it, just before
/// the answer ([x; P], where a causal model's prompt positions can read the input).</summary>
public enum SoftSlotPosition
{
    Start,
    End,
}

/// <summary>
/// A classification template's {soft} slot (OpenPrompt's soft tokens, in the templates' own brace syntax): written
/// {soft} or {soft*k} (k vectors) at the template's start or end, it says where prompt tuning puts its vectors and,
/// with k, how many. Soft tokens inside the text are P-tuning's, whose templates take them anywhere.
/// </summary>
public sealed partial record SoftSlot(SoftSlotPosition Position, int? Count)
{
    /// <summary>A soft slot as a regular expression, {soft} or {soft*k} with k in group 1: shared with P-tuning's
    /// templates, which take slots anywhere.</summary>
    public const string Syntax = @"\{soft(?:\*(\d+))?\}";

    /// <summary>The most vectors one slot may ask for.</summary>
    public const int MaxCount = 512;

    /// <summary>The k of {soft*k} from its digits (none, for a bare {soft}: 1); null when it is not 1 to
    /// <see cref="MaxCount"/>.</summary>
    public static int? CountOf(string digits) =>
        digits.Length == 0 ? 1 : digits.Length <= 4 && int.Parse(digits) is >= 1 and <= MaxCount and var k ? k : null;

    /// <summary>The marker as a template writes it.</summary>
    public string Marker => Count is int k ? $"{{soft*{k}}}" : "{soft}";

    /// <summary>The template with this slot written back where it was.</summary>
    public string Attach(string template) => Position == SoftSlotPosition.Start ? Marker + template : template + Marker;

    /// <summary>The template without its soft slot, and the slot (null when it has none).</summary>
    /// <param name="where">Names the file and field in errors.</param>
    public static (string Template, SoftSlot? Slot) Split(string template, string where)
    {
        var found = MarkerPattern().Matches(template);
        if (found.Count == 0) return (template, null);
        var m = found[0];
        bool atStart = m.Index == 0, atEnd = m.Index + m.Length == template.Length;
        if (found.Count > 1 || !atStart && !atEnd)
            throw new InvalidDataException(
                $"{where}: a {{soft}} slot goes at the template's start (the prompt before the input, Lester et al.) " +
                "or its end (after the input, before the answer), once; soft tokens inside the text are P-tuning's " +
                    "(`compare --methods ptuning`).");
        int? count = m.Groups[1].Success
            ? CountOf(m.Groups[1].Value) ?? throw new InvalidDataException(
                $"{where}: {m.Value} must ask for 1 to {MaxCount} soft tokens.")
            : null; // a bare {soft}: the length is the command's to choose
        string rest = atStart ? template[m.Length..] : template[..m.Index];
        return (rest, new SoftSlot(atStart ? SoftSlotPosition.Start : SoftSlotPosition.End, count));
    }

    [GeneratedRegex(Syntax)]
    private static partial Regex MarkerPattern();
}
