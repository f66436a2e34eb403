using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using SoftPrompt.Data.Tokenizers;
using SoftPrompt.Tests.Support;
using Xunit;

namespace SoftPrompt.Tests.Tokenizers;

/// <summary>Unigram tokenizer.json files (T5's kind): fixtures from
/// tests/fixtures/tokenizers/unigram/make_fixtures.py.</summary>
public class UnigramTokenizerTests
{
    public static string Fixture(params string[] parts) =>
        Path.Combine([AppContext.BaseDirectory, "fixtures", "tokenizers", "unigram", .. parts]);

    private static readonly Lazy<UnigramTokenizer> Hand = new(() => (UnigramTokenizer)TokenizerLoader.Load(
        Fixture("hand-built", "tokenizer.json")));
    private static readonly Lazy<UnigramTokenizer> T5Style = new(() => (UnigramTokenizer)TokenizerLoader.Load(
        Fixture("t5-style")));

    // Ids of the hand-built vocabulary (make_fixtures.py, HAND_VOCAB).
    private const int Pad = 0, Eos = 1, Unk = 2, Mark = 3, A = 4, B = 5, D = 7, Abc = 8, Ab = 9, Cd = 10, The = 11,
    Cat = 12, S = 13,
        X = 14, Y = 15, Z = 16, E = 17, Fi = 18, E2 = 19, X98 = 20, X83 = 21, Extra0 = 22;

    public static List<(string Text, int[] Ids, string Decoded)> Expected()
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Fixture("t5-style", "expected.json")));
        return doc.RootElement.EnumerateArray()
            .Select(e => (e.GetProperty("text").GetString()!, e.GetProperty("ids").EnumerateArray().Select(i =>
                i.GetInt32()).ToArray(),
                e.GetProperty("decoded").GetString()!))
            .ToList();
    }

    [Fact]
    public void Viterbi_takes_the_best_total_score_where_greedy_longest_match_would_not()
    {
        // "▁abcd": ▁ab + cd scores -4 - 2 = -6; the longest first piece, ▁abc, leaves d: -5 - 6 = -11.
        Assert.Equal([Ab, Cd], Hand.Value.Encode("abcd"));
        Assert.Equal([The, Cat, S], Hand.Value.Encode("the cats"));
        // the charsmap's longest keys first (ABC → yz, AB → x, A → a), then pieces for what it wrote
        Assert.Equal([Mark, Y, Z, Mark, X, Mark, A], Hand.Value.Encode("ABC AB A"));
        Assert.Equal([Fi], Hand.Value.Encode("\uFB01"));
        // NBSP becomes a space; runs of spaces one mark; trailing spaces stripped
        Assert.Equal([The, Cat], Hand.Value.Encode("the\u00A0cat"));
        Assert.Equal([The, Cat], Hand.Value.Encode("  the   cat  "));
        Assert.Empty(Hand.Value.Encode(""));
        Assert.Empty(Hand.Value.Encode("   "));
    }

    [Fact]
    public void Unknown_characters_fall_back_to_bytes_and_runs_of_them_are_fused_first()
    {
        var tokenizer = Hand.Value;
        Assert.True(tokenizer.ByteFallback);
        // ☃ has no piece: its UTF-8 bytes E2 98 83 do
        Assert.Equal([Mark, E2, X98, X83], tokenizer.Encode("\u2603"));
        Assert.Equal([Mark, E2, X98, X83, E2, X98, X83], tokenizer.Encode("\u2603\u2603"));
        // "q☃" is one unknown run; q's byte 0x71 has no piece, so the whole run is one <unk>
        Assert.Equal([Mark, Unk], tokenizer.Encode("q\u2603"));
        // é → e + U+0301 by the charsmap; the combining mark's bytes CC 81 have no pieces
        Assert.Equal([Mark, E, Unk], tokenizer.Encode("\u00E9"));

        var noFallback = WithChanges(Fixture("hand-built", "tokenizer.json"), root => root["model"]!["byte_fallback"] =
            false);
        Assert.Equal([Mark, Unk], noFallback.Encode("\u2603\u2603"));
        Assert.Equal([Mark, A, Unk, B], noFallback.Encode("a\u2603\u2603b"));
        Assert.Equal([Mark, A, Unk, B, Mark, Unk], noFallback.Encode("a\u2603\uD83D\uDE42b \U0001F642"));
    }

    [Fact]
    public void Added_tokens_are_matched_whole_and_the_template_appends_eos()
    {
        var tokenizer = Hand.Value;
        Assert.Equal([Extra0, The, Eos], tokenizer.Encode("<extra_id_0> the</s>"));
        Assert.Equal([The, Pad, Pad], tokenizer.Encode("the<pad><pad>"));
        Assert.Equal(Extra0, tokenizer.TokenId("<extra_id_0>"));
        Assert.Equal(Eos, tokenizer.EosId);
        Assert.Null(tokenizer.BosId);
        Assert.Equal(Pad, tokenizer.PadId);
        Assert.Equal(Unk, tokenizer.UnknownId);
        Assert.Empty(tokenizer.SequencePrefix);
        Assert.Equal([Eos], tokenizer.SequenceSuffix);
        Assert.Equal([The, Cat, S, Eos], tokenizer.EncodeSequence("the cats"));
        Assert.Equal(23, tokenizer.VocabSize);
    }

    [Fact]
    public void Decoding_runs_the_decoder_chain_and_leaves_special_tokens_out()
    {
        var tokenizer = Hand.Value;
        Assert.Equal("abcd", tokenizer.Decode([Ab, Cd]));
        Assert.Equal("the cats", tokenizer.Decode([The, Cat, S, Eos]));
        Assert.Equal("the cat", tokenizer.Decode([Extra0, The, Pad, Cat]));
        Assert.Equal("\u2603 \u2603", tokenizer.Decode([Mark, E2, X98, X83, Mark, E2, X98, X83]));
        Assert.Equal("\uFFFD\uFFFD", tokenizer.Decode([E2, X98])); // an unfinished character
        Assert.Equal(" the", tokenizer.TokenText(The));
        Assert.Equal("</s>", tokenizer.TokenText(Eos));
        Assert.Throws<ArgumentOutOfRangeException>(() => tokenizer.Decode([23]));

        var incremental = new IncrementalDecoder(tokenizer);
        Assert.Equal(["the", "", "", "\u2603"], new[] { The, E2, X98, X83 }.Select(incremental.Add));
    }

    [Fact]
    public void Parity_T5_style_ids_match_SentencePiece()
    {
        var tokenizer = T5Style.Value;
        var cases = Expected();
        Assert.True(cases.Count >= 10);
        foreach (var (text, ids, _) in cases)
            Assert.True(ids.SequenceEqual(tokenizer.Encode(text)),
                $"'{text}'\n expected [{string.Join(", ", ids)}]\n got      " +
                    $"[{string.Join(", ", tokenizer.Encode(text))}]");
        Assert.Equal(1, tokenizer.EosId);
        Assert.Equal(0, tokenizer.PadId);
        Assert.Equal(2, tokenizer.UnknownId);
        Assert.False(tokenizer.ByteFallback);
        // T5's extra ids sit at the end of the vocabulary, in reverse order
        Assert.Equal(tokenizer.VocabSize - 1, tokenizer.TokenId("<extra_id_0>"));
        Assert.Equal([tokenizer.TokenId("<extra_id_0>")!.Value, .. tokenizer.Encode("the"), 1],
            tokenizer.EncodeSequence("<extra_id_0>the"));
    }

    [Fact]
    public void Metaspace_round_trip_gives_back_the_normalized_text()
    {
        var tokenizer = T5Style.Value;
        // SentencePiece's own decoding of its ids, for the samples without unknown characters
        foreach (var (text, ids, decoded) in Expected().Where(c => !c.Ids.Contains(2)))
        {
            Assert.Equal(decoded, tokenizer.Decode(tokenizer.Encode(text)));
            Assert.Equal(decoded, tokenizer.Decode(ids));
        }
        string[] sentences =
        [
            "the act of making something",
            "  a  state of being   ",
            "Translate to German: the house is small.",
            "one\ttwo\nthree",
            "x",
            "(of a person) having a great deal of energy; vigorous",
            "I said \"no\" -- twice, 2 times.",
        ];
        foreach (var sentence in sentences)
        {
            string normalized = Regex.Replace(sentence, @"\s+", " ").Trim();
            var ids = tokenizer.Encode(sentence);
            Assert.DoesNotContain(2, ids);
            Assert.Equal(normalized, tokenizer.Decode(ids));
            Assert.Equal(normalized, tokenizer.Decode(tokenizer.EncodeSequence(sentence)));
        }
    }

    [Fact]
    public void The_older_T5_layout_gives_the_same_ids()
    {
        // Files converted before the Strip/Replace normalizers: Precompiled alone, WhitespaceSplit then Metaspace with
        // add_prefix_space.
        var older = WithChanges(Fixture("t5-style", "tokenizer.json"), root =>
        {
            root["normalizer"] = root["normalizer"]!["normalizers"]![0]!.DeepClone();
            root["pre_tokenizer"] = JsonNode.Parse("""
                {"type": "Sequence", "pretokenizers": [{"type": "WhitespaceSplit"},
                 {"type": "Metaspace", "replacement": "▁", "add_prefix_space": true}]}
                """);
            root["decoder"] = JsonNode.Parse("""{"type": "Metaspace", "replacement": "▁", "add_prefix_space": true}""");
        });
        foreach (var (text, ids, decoded) in Expected())
        {
            Assert.Equal(ids, older.Encode(text));
            if (!ids.Contains(2)) Assert.Equal(decoded, older.Decode(ids));
        }
    }

    [Fact]
    public void Metaspace_prepend_schemes_and_other_normalizers()
    {
        string path = Fixture("hand-built", "tokenizer.json");
        var first = WithChanges(path, root => root["pre_tokenizer"]!["prepend_scheme"] = "first");
        // only the text's start gets a mark: after a special token "the" has none, so it is spelled out as pieces
        Assert.Equal([The, Extra0, Unk], first.Encode("the<extra_id_0>the").Take(3));
        var never = WithChanges(path, root => root["pre_tokenizer"]!["prepend_scheme"] = "never");
        Assert.Equal([Cd], never.Encode("cd"));
        var unsplit = WithChanges(path, root => root["pre_tokenizer"]!["split"] = false);
        Assert.Equal([The, Cat], unsplit.Encode("the cat"));

        var lowered = WithChanges(path, root => root["normalizer"] = JsonNode.Parse("""
            {"type": "Sequence", "normalizers": [{"type": "Lowercase"},
             {"type": "Replace", "pattern": {"String": "dog"}, "content": "cat"},
             {"type": "Strip", "strip_left": true, "strip_right": true}, {"type": "Prepend", "prepend": "▁"}]}
            """));
        Assert.Equal([The, Cat], lowered.Encode("  THE DOG  "));
        var nfkc = WithChanges(path, root => root["normalizer"] = JsonNode.Parse("""{"type": "NFKC"}"""));
        Assert.Equal([Fi, Mark, A], nfkc.Encode("\uFB01 \uFF41"));
        var unaccented = WithChanges(path, root => root["normalizer"] = JsonNode.Parse("""
            {"type": "Sequence", "normalizers": [{"type": "NFD"}, {"type": "StripAccents"}]}
            """));
        Assert.Equal([Mark, E, Mark, A], unaccented.Encode("\u00E9 \u00E0"));
    }

    [Fact]
    public void Bad_unigram_files_give_errors_that_name_the_file_and_the_fault()
    {
        using var dir = new TempDirectory();
        string path = dir.File("tokenizer.json");
        void Expect(string json, string fragment)
        {
            File.WriteAllText(path, json);
            var e = Assert.Throws<InvalidDataException>(() => TokenizerLoader.Load(path));
            Assert.Contains(path, e.Message);
            Assert.Contains(fragment, e.Message);
        }
        // A valid three-piece model after the given stages.
        static string With(string stages) => "{" + stages +
            """ "model": {"type": "Unigram", "unk_id": 0, "vocab": [["<unk>", 0.0], ["▁", -1.0], ["a", -2.0]]}}""";
        Expect("""{"model": {"type": "Unigram", "unk_id": 0, "vocab": [["a", 0.0], ["b"]]}}""", "piece 1");
        Expect("""{"model": {"type": "Unigram", "unk_id": 0, "vocab": {"a": 0}}}""", "not an array");
        Expect(With("").Replace("\"unk_id\": 0", "\"unk_id\": 7"), "unk_id 7");
        Expect(With(""" "normalizer": {"type": "BertNormalizer"},"""), "\"BertNormalizer\" is not supported");
        Expect(With(""" "pre_tokenizer": {"type": "Metaspace", "prepend_scheme": "sometimes"},"""), "sometimes");
        Expect(With(""" "normalizer": {"type": "Precompiled", "precompiled_charsmap": "%%%"},"""), "base64");
        Expect(With(""" "normalizer": {"type": "Precompiled", "precompiled_charsmap": "6AMAAAAAAAA="},"""),
            "trie 1000 bytes");
        Expect(With(""" "normalizer": {"type": "Replace", "pattern": {"Regex": "(("}, "content": ""},"""),
            "regular expression");
        Expect(With("""
            "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "</s>"}}]},
            """),
            "</s>");
        Expect(With(""" "added_tokens": [{"id": 5, "content": "<x>"}],"""), "no token has id 3");
    }

    [Fact]
    public void Without_an_unknown_token_an_unknown_character_is_an_error_naming_it()
    {
        var tokenizer = WithChanges(Fixture("hand-built", "tokenizer.json"), root => root["model"]!["unk_id"] = null);
        Assert.Null(tokenizer.UnknownId);
        Assert.Equal([Ab, Cd], tokenizer.Encode("abcd"));
        var e = Assert.Throws<InvalidOperationException>(() => tokenizer.Encode("q"));
        Assert.Contains("'q'", e.Message);
    }

    private static UnigramTokenizer WithChanges(string path, Action<JsonNode> change)
    {
        var root = JsonNode.Parse(File.ReadAllText(path))!;
        change(root);
        using var dir = new TempDirectory();
        string changed = dir.File("tokenizer.json");
        File.WriteAllText(changed, root.ToJsonString());
        return (UnigramTokenizer)TokenizerLoader.Load(changed);
    }
}
