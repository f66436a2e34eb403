using System.Text.Json.Nodes;
using SoftPrompt.Data.Tokenizers;
using Xunit;

namespace SoftPrompt.Tests.Tokenizers;

/// <summary>
/// SentencePiece's compiled normalization rules: blobs compiled by SentencePiece itself
/// (tests/fixtures/tokenizers/unigram/make_fixtures.py): one from a few rules of ours, and its nmt_nfkc, the rule set
/// T5's spiece.model was built with (SentencePiece 0.1.97's compilation of it).
/// </summary>
public class PrecompiledCharsmapTests
{
    private static byte[] Blob(string file, Func<JsonNode, JsonNode?> find) =>
        Convert.FromBase64String((string)find(JsonNode.Parse(File.ReadAllText(UnigramTokenizerTests.Fixture(file)))!)!);

    private static byte[] CustomBlob() => Blob("custom-charsmap.json", root => root["precompiled_charsmap"]);

    private static readonly Lazy<PrecompiledCharsmap> NmtNfkc = new(() => PrecompiledCharsmap.Parse(
        Blob(Path.Combine("t5-style", "tokenizer.json"),
            root => root["normalizer"]!["normalizers"]![0]!["precompiled_charsmap"]), "nmt_nfkc"));

    [Fact]
    public void Longest_key_wins_at_each_position_and_other_characters_are_copied()
    {
        // rules: A → a, AB → x, ABC → yz, Ａ → a, ﬁ → fi, NBSP → space, é → e + U+0301
        var charsmap = PrecompiledCharsmap.Parse(CustomBlob(), "custom");
        Assert.Equal("yzD x a", charsmap.Normalize("ABCD AB A"));
        Assert.Equal("aa fi e\u0301", charsmap.Normalize("\uFF21A\u00A0\uFB01 \u00E9"));
        Assert.Equal("B b \u65E5\U0001F642 \u00C9", charsmap.Normalize("B b \u65E5\U0001F642 \u00C9"));
        Assert.Equal("", charsmap.Normalize(""));
        Assert.Equal((2, "x"), charsmap.LongestMatch("ABZ"u8));
        Assert.Equal((3, "yz"), charsmap.LongestMatch("ABC"u8));
        Assert.Equal((1, "a"), charsmap.LongestMatch("A"u8));
        Assert.Null(charsmap.LongestMatch("BA"u8));
        Assert.Null(charsmap.LongestMatch(""u8));
    }

    [Fact]
    public void SentencePiece_nmt_nfkc_the_rules_T5_was_built_with_maps_compatibility_characters()
    {
        var charsmap = NmtNfkc.Value;
        Assert.Equal("A", charsmap.Normalize("\uFF21"));            // full-width A
        Assert.Equal("the cat", charsmap.Normalize("the\u00A0cat")); // no-break space
        Assert.Equal("fine", charsmap.Normalize("\uFB01ne"));        // ligature
        Assert.Equal("123", charsmap.Normalize("\uFF11\uFF12\uFF13"));
        Assert.Equal("G", charsmap.Normalize("\U0001D53E"));         // mathematical double-struck G
        Assert.Equal("1", charsmap.Normalize("\u2460"));             // circled 1
        Assert.Equal("\u30AB", charsmap.Normalize("\uFF76"));        // half-width katakana KA
        Assert.Equal("a b", charsmap.Normalize("a\tb"));
        Assert.Equal("a b", charsmap.Normalize("a\u200Bb"));         // zero-width space
        // the older compilation of nmt_nfkc in Hugging Face's spm_precompiled tests maps U+200D (zero-width joiner) to
        // a space; SentencePiece 0.1.97's keeps it
        Assert.Equal("\u200D", charsmap.Normalize("\u200D"));
        // cases from Hugging Face's spm_precompiled tests of its nmt_nfkc blob: a multi-character key, Thai and
        // Devanagari
        Assert.Equal("\u0622", charsmap.Normalize("\u0627\u0653"));
        const string Thai =
            "\u0E40\u0E02\u0E32\u0E44\u0E21\u0E48\u0E44\u0E14\u0E49\u0E1E\u0E39\u0E14\u0E2A\u0E31\u0E01\u0E04";
        Assert.Equal(Thai + "\u0E4D\u0E32", charsmap.Normalize(Thai + "\u0E33"));
        Assert.Equal("\u0921\u093C\u0940 \u0926\u0941\u0916", charsmap.Normalize("\u095C\u0940 \u0926\u0941\u0916"));
        // already-normal text is left as it is
        const string plain = "Plain ASCII, caf\u00E9 and \u65E5\u672C\u8A9E.";
        Assert.Equal(plain, charsmap.Normalize(plain));
    }

    [Fact]
    public void Malformed_blobs_are_rejected_with_the_source_named()
    {
        var blob = CustomBlob();
        int trieBytes = BitConverter.ToInt32(blob, 0);
        void Rejected(byte[] bad, string fragment)
        {
            var e = Assert.Throws<InvalidDataException>(() => PrecompiledCharsmap.Parse(bad, "the-file.json"));
            Assert.StartsWith("the-file.json: ", e.Message);
            Assert.Contains(fragment, e.Message);
        }
        Rejected([1, 0], "too short");
        Rejected([.. BitConverter.GetBytes(6), .. new byte[8]], "whole number");
        Rejected([.. BitConverter.GetBytes(1 << 30), .. blob[4..]], "whole number");
        // the strings section cut away: the leaves point past it
        Rejected(blob[..(4 + trieBytes)], "past its 0 bytes of strings");
        // the last string's NUL removed
        Rejected(blob[..^1], "no terminating NUL");
        // a replacement that is not UTF-8
        var invalid = (byte[])blob.Clone();
        invalid[^2] = 0xFF;
        Rejected(invalid, "not valid UTF-8");
        // Random bytes as a trie must fail cleanly or load, never crash or hang.
        var random = new Random(5);
        for (int i = 0; i < 200; i++)
        {
            var noise = (byte[])blob.Clone();
            for (int k = 0; k < 8; k++) noise[4 + random.Next(trieBytes)] = (byte)random.Next(256);
            try
            {
                PrecompiledCharsmap.Parse(noise, "noise").Normalize("ABC \uFF21\u00E9 text");
            }
            catch (InvalidDataException e)
            {
                Assert.StartsWith("noise: ", e.Message);
            }
        }
    }
}
