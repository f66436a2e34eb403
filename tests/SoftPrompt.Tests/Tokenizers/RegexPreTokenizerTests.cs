using SoftPrompt.Data.Tokenizers;
using Xunit;

namespace SoftPrompt.Tests.Tokenizers;

public class RegexPreTokenizerTests
{
    // Llama 3's pattern, as its tokenizer.json gives it.
    private const string Llama3 =
        @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|" +
        @"\s*[\r\n]+|\s+(?!\S)|\s+";

    [Theory]
    [InlineData("IT'S 12345 apples", new[] { "IT", "'S", " ", "123", "45", " apples" })]
    [InlineData("\t\tand", new[] { "\t", "\tand" })]
    [InlineData("a  b\n\nc", new[] { "a", " ", " b", "\n\n", "c" })]
    // Outside the BMP: a letter is a letter and a digit a digit (JavaScript /u, Rust), not two surrogate "symbols".
    [InlineData("x𝐇𝐞 𝟏𝟐𝟑𝟒 🙂!", new[] { "x𝐇𝐞", " ", "𝟏𝟐𝟑", "𝟒", " 🙂!" })]
    // U+FEFF is whitespace for the reference, U+0085 is not (the reverse of .NET's \s).
    [InlineData("a\uFEFF\uFEFFb\u0085c", new[] { "a", "\uFEFF", "\uFEFFb", "\u0085c" })]
    public void Pieces_follow_the_pattern_over_code_points(string text, string[] pieces)
    {
        var split = new RegexPreTokenizer(Llama3).Split(text).ToArray();
        Assert.Equal(pieces, split);
        Assert.Equal(text, string.Concat(split));
    }
}
