using System.Text.Json;
using SoftPrompt.Data.Tokenizers;
using SoftPrompt.Models.Formats;
using SoftPrompt.Tests.Support;
using Xunit;

namespace SoftPrompt.Tests.Tokenizers;

/// <summary>Our encoders against the ids the reference encoders produced (tools/make_tokenizer_fixtures.mjs).</summary>
public class TokenizerParityTests
{
    public static string FixtureDir(string name) => Path.Combine(AppContext.BaseDirectory, "fixtures", "tokenizers",
        name);

    public static readonly Lazy<ITokenizer> Gpt2 = new(() => TokenizerLoader.Load(FixtureDir("gpt2")));
    public static readonly Lazy<ITokenizer> Mistral = new(() => TokenizerLoader.Load(FixtureDir("mistral-7b")));

    public static List<(string Text, int[] Ids)> Expected(string name)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(FixtureDir(name), "expected.json")));
        return doc.RootElement.EnumerateArray()
            .Select(e => (e.GetProperty("text").GetString()!, e.GetProperty("ids").EnumerateArray().Select(i =>
                i.GetInt32()).ToArray()))
            .ToList();
    }

    [Theory]
    [InlineData("gpt2")]
    [InlineData("mistral-7b")]
    public void Parity_ids_match_the_reference_encoder(string name)
    {
        var tokenizer = name == "gpt2" ? Gpt2.Value : Mistral.Value;
        var cases = Expected(name);
        Assert.True(cases.Count >= 10);
        foreach (var (text, ids) in cases)
            Assert.True(ids.SequenceEqual(tokenizer.Encode(text)),
                $"{name}: '{text}'\n expected [{string.Join(", ", ids)}]\n got      " +
                    $"[{string.Join(", ", tokenizer.Encode(text))}]");
    }

    [Theory]
    [InlineData("gpt2")]
    [InlineData("mistral-7b")]
    public void Decoding_the_reference_ids_gives_back_the_text(string name)
    {
        var tokenizer = name == "gpt2" ? Gpt2.Value : Mistral.Value;
        foreach (var (text, ids) in Expected(name).Where(c => !c.Text.Contains("<s>")))
            Assert.Equal(text, tokenizer.Decode(ids));
    }

    // Reference: Google's SentencePiece encoding with the same pieces and scores
    // (tools/make_tinystories_tokenizer_fixture.py).
    [Fact]
    public void Parity_TinyStories_score_merges_match_SentencePiece()
    {
        var vocab = TinyStoriesBin.Read(SharedModels.TinyStoriesPath).Vocab;
        var tokenizer = SentencePieceBpeTokenizer.FromScores(vocab.Pieces, vocab.Scores);
        var cases = Expected("tinystories-260k");
        Assert.True(cases.Count >= 10);
        foreach (var (text, ids) in cases)
        {
            Assert.True(ids.SequenceEqual(tokenizer.Encode(text)),
                $"'{text}'\n expected [{string.Join(", ", ids)}]\n got      " +
                    $"[{string.Join(", ", tokenizer.Encode(text))}]");
            Assert.Equal(text, tokenizer.Decode(ids));
        }
    }

    // UTF-8: 0xC3 0xA9 is "é"; 0xC3 alone is a truncated sequence and 0xA9 alone a stray continuation byte.
    [Fact]
    public void Decode_joins_byte_tokens_into_UTF8_and_replaces_invalid_bytes()
    {
        var gpt2 = Gpt2.Value;
        int c3 = gpt2.TokenId(ByteLevelEncoding.CharOf(0xC3).ToString())!.Value,
            a9 = gpt2.TokenId(ByteLevelEncoding.CharOf(0xA9).ToString())!.Value;
        Assert.Equal("é", gpt2.Decode(new[] { c3, a9 }));
        Assert.Equal("\uFFFDx", gpt2.Decode(new[] { c3, gpt2.TokenId("x")!.Value }));

        var mistral = Mistral.Value;
        int b3 = mistral.TokenId("<0xC3>")!.Value, b9 = mistral.TokenId("<0xA9>")!.Value;
        Assert.Equal("é", mistral.Decode(new[] { b3, b9 }));
        Assert.Equal("a\uFFFD", mistral.Decode(new[] { mistral.TokenId("▁a")!.Value, b9 }));
    }

    [Fact]
    public void Special_tokens_and_vocabulary_sizes_are_found()
    {
        Assert.Equal(50257, Gpt2.Value.VocabSize);
        Assert.Equal(50256, Gpt2.Value.EosId);
        Assert.Equal(new[] { 50256 }, Gpt2.Value.Encode("<|endoftext|>"));
        Assert.Equal(32000, Mistral.Value.VocabSize);
        Assert.Equal(1, Mistral.Value.BosId);
        Assert.Equal(2, Mistral.Value.EosId);
        Assert.Equal(" world", Gpt2.Value.TokenText(995));
    }
}
