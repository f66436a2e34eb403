using SoftPrompt.Data.Tokenizers;
using Xunit;

namespace SoftPrompt.Tests.Tokenizers;

public class IncrementalDecoderTests
{
    [Theory]
    [InlineData("gpt2")]
    [InlineData("mistral-7b")]
    public void Pieces_join_into_the_whole_decode_and_never_show_half_a_character(string tokenizerName)
    {
        var tokenizer = tokenizerName == "gpt2" ? TokenizerParityTests.Gpt2.Value : TokenizerParityTests.Mistral.Value;
        const string context = "Menu:", text = " café ☃ 🍜 naïve — done.";
        var contextIds = tokenizer.Encode(context);
        var ids = tokenizer.Encode(context + text)[contextIds.Length..];
        var decoder = new IncrementalDecoder(tokenizer, contextIds);
        var pieces = ids.Select(decoder.Add).ToList();
        Assert.Contains(pieces, p => p.Length == 0); // some characters span several byte tokens
        Assert.DoesNotContain(pieces, p => p.Contains('\uFFFD'));
        Assert.Equal(text, string.Concat(pieces));
    }
}
