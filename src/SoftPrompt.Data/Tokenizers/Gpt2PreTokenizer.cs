using System.Globalization;
using System.Text;

namespace SoftPrompt.Data.Tokenizers;

/// <summary>
/// GPT-2's pre-tokenizer, the pattern
/// <c>'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+</c>
/// evaluated as the reference encoder does (JavaScript, /u flag): over code points, not UTF-16 units, so a letter or
/// digit outside the BMP (𝐇, 𝟏, 𠀀) counts as one — a .NET Regex would see two surrogates and call them symbols.
/// BPE never merges across the pieces this returns; concatenated they give back the text.
/// </summary>
public static class Gpt2PreTokenizer
{
    private static readonly string[] Contractions = { "'s", "'t", "'re", "'ve", "'m", "'ll", "'d" };

    private enum Kind { Letter, Number, Space, Other }

    public static IEnumerable<string> Split(string text)
    {
        int position = 0;
        while (position < text.Length)
        {
            int length = PieceLength(text, position);
            yield return text.Substring(position, length);
            position += length;
        }
    }

    // Length in UTF-16 units of the piece starting at `start`; the alternatives are tried in the pattern's order.
    private static int PieceLength(string text, int start)
    {
        foreach (var c in Contractions)
            if (string.CompareOrdinal(text, start, c, 0, c.Length) == 0) return c.Length;

        var (kind, width) = At(text, start);
        if (kind != Kind.Space || text[start] == ' ')
        {
            // " ?\p{L}+", " ?\p{N}+", " ?[^\s\p{L}\p{N}]+": one optional U+0020, then a run of one class.
            int runStart = start;
            if (text[start] == ' ')
            {
                if (start + 1 >= text.Length) return 1;
                runStart = start + 1;
                (kind, width) = At(text, runStart);
            }
            if (kind != Kind.Space) return RunEnd(text, runStart, kind) - start;
        }

        // "\s+(?!\S)" keeps the run's last space for the word after it when the run has two or more;
        // otherwise "\s+" takes the whole run (a single space before a word, or a run ending the text).
        int end = RunEnd(text, start, Kind.Space);
        if (end == text.Length) return end - start;
        // Every whitespace character is in the BMP, so the run's last one is one UTF-16 unit.
        return end - 1 > start ? end - 1 - start : end - start;
    }

    private static int RunEnd(string text, int position, Kind kind)
    {
        while (position < text.Length)
        {
            var (k, width) = At(text, position);
            if (k != kind) break;
            position += width;
        }
        return position;
    }

    private static (Kind Kind, int Width) At(string text, int position)
    {
        // A lone surrogate is a code point of its own (category Cs) for the reference, so "other".
        if (Rune.DecodeFromUtf16(text.AsSpan(position), out var rune,
            out int width) != System.Buffers.OperationStatus.Done)
            return (Kind.Other, 1);
        return (Classify(rune), width);
    }

    private static Kind Classify(Rune rune)
    {
        if (IsJavaScriptWhiteSpace(rune.Value)) return Kind.Space;
        switch (Rune.GetUnicodeCategory(rune))
        {
            case UnicodeCategory.UppercaseLetter:
            case UnicodeCategory.LowercaseLetter:
            case UnicodeCategory.TitlecaseLetter:
            case UnicodeCategory.ModifierLetter:
            case UnicodeCategory.OtherLetter:
                return Kind.Letter;
            case UnicodeCategory.DecimalDigitNumber:
            case UnicodeCategory.LetterNumber:
            case UnicodeCategory.OtherNumber:
                return Kind.Number;
            default:
                return Kind.Other;
        }
    }

    // The reference's \s: ECMAScript WhiteSpace and LineTerminator. Unlike .NET's \s it includes U+FEFF and excludes
    // U+0085 (NEL), which is a symbol here.
    private static bool IsJavaScriptWhiteSpace(int c) =>
        c is '\t' or '\n' or '\v' or '\f' or '\r' or ' ' or 0x00A0 or 0x1680 or (>= 0x2000 and <= 0x200A)
            or 0x2028 or 0x2029 or 0x202F or 0x205F or 0x3000 or 0xFEFF;
}
