using System.Text.RegularExpressions;

namespace SoftPrompt.Data.Tokenizers;

/// <summary>
/// GPT-2's pre-tokenizer: contractions, runs of letters or digits with one optional leading space, runs of other
/// symbols, and whitespace (a run of spaces before a word leaves its last space to the word). BPE never merges
/// across these pieces.
/// </summary>
public static partial class Gpt2PreTokenizer
{
    [GeneratedRegex(@"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();

    public static IEnumerable<string> Split(string text)
    {
        foreach (Match m in Pattern().Matches(text)) yield return m.Value;
    }
}
