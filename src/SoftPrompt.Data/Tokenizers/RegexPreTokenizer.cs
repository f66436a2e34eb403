using System.Text;
using System.Text.RegularExpressions;

namespace SoftPrompt.Data.Tokenizers;

/// <summary>
/// tokenizer.json's Split pre-tokenizer with behaviour Isolated (Llama 3, Qwen2/3): every match of the pattern is a
/// piece, and so is any text between matches. The pattern is evaluated as the reference encoders do, over code points
/// with JavaScript's \s: .NET's Regex sees a character outside the BMP as two surrogates (so 𝐇 would not be \p{L}),
/// and its \s includes U+0085 but not U+FEFF. Each such character is matched as a BMP stand-in of the same class (ª for
/// a letter, ² for a digit, ¦ for anything else, U+2000 for U+FEFF), and the pieces are cut from the original text.
/// BPE never merges across the pieces; concatenated they give back the text.
/// </summary>
public sealed class RegexPreTokenizer
{
    private readonly Regex _regex;

    public RegexPreTokenizer(string pattern)
    {
        Pattern = pattern;
        _regex = new Regex(pattern, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(5));
    }

    public string Pattern { get; }

    public IEnumerable<string> Split(string text)
    {
        var (matched, origin) = StandIns(text);
        int last = 0;
        foreach (Match m in _regex.Matches(matched))
        {
            if (m.Length == 0) continue;
            if (m.Index > last) yield return text[origin[last]..origin[m.Index]];
            yield return text[origin[m.Index]..origin[m.Index + m.Length]];
            last = m.Index + m.Length;
        }
        if (last < matched.Length) yield return text[origin[last]..];
    }

    // The text the regex sees, and for each of its positions (plus the end) the position in the original text.
    private static (string Matched, int[] Origin) StandIns(string text)
    {
        bool plain = true;
        foreach (char c in text)
            if (char.IsSurrogate(c) || c is '\u0085' or '\uFEFF') { plain = false; break; }
        if (plain) return (text, Enumerable.Range(0, text.Length + 1).ToArray());
        var matched = new StringBuilder(text.Length);
        var origin = new List<int>(text.Length + 1);
        for (int i = 0; i < text.Length;)
        {
            origin.Add(i);
            if (Rune.DecodeFromUtf16(text.AsSpan(i), out var rune,
                out int width) != System.Buffers.OperationStatus.Done)
            {
                matched.Append('¦'); // a lone surrogate: a code point of its own, a symbol
                i += 1;
                continue;
            }
            matched.Append(rune.Value switch
            {
                0x85 => '¦',
                0xFEFF => '\u2000',
                _ when width == 1 => (char)rune.Value,
                _ when Rune.IsLetter(rune) => 'ª',
                _ when Rune.IsNumber(rune) => '²',
                _ => '¦',
            });
            i += width;
        }
        origin.Add(text.Length);
        return (matched.ToString(), origin.ToArray());
    }
}
