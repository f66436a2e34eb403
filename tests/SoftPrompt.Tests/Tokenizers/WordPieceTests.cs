using SoftPrompt.Data.Tokenizers;
using SoftPrompt.Tests.Support;
using Xunit;

namespace SoftPrompt.Tests.Tokenizers;

public class WordPieceTests
{
    // The example of BERT's README: "unaffable" → un ##aff ##able.
    private static WordPieceTokenizer Small()
    {
        string[] pieces = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##aff", "##able", "the", "food", "was",
            "great", ".", ",", "cafe", "!", "##s", "a", "##a"];
        var vocab = pieces.Select((p, i) => (p, i)).ToDictionary(x => x.p, x => x.i);
        return new WordPieceTokenizer(vocab, WordPieceTokenizer.BertSpecialTokens.Select((t, i) => new SpecialToken(i,
            t)));
    }

    private static string[] Pieces(WordPieceTokenizer t, string text) => t.Encode(text).Select(t.TokenText).ToArray();

    [Fact]
    public void Greedy_longest_match_with_continuations_and_unknown_words()
    {
        var t = Small();
        Assert.Equal(["un", "##aff", "##able"], Pieces(t, "unaffable"));
        // A word with an uncovered remainder is [UNK] whole, not partly matched.
        Assert.Equal(["the", "[UNK]", "was", "great"], Pieces(t, "the unaffablex was great"));
        Assert.Equal(["a", "##a", "##a"], Pieces(t, "aaa"));
    }

    [Fact]
    public void Bert_normalizer_lowercases_strips_accents_and_splits_punctuation()
    {
        var t = Small();
        Assert.Equal(["the", "cafe", ",", "the", "food", "!", "!"], Pieces(t, "  THE Café,the\tFOOD!!"));
        Assert.Equal(["hello", ",", "world", "!", "$", "5"],
            WordPieceTokenizer.PreTokenize(WordPieceTokenizer.Normalize("Héllo,World! $5", lowercase: true)));
        Assert.Equal(["Héllo"], WordPieceTokenizer.PreTokenize(WordPieceTokenizer.Normalize("Héllo\u0007",
            lowercase: false)));
    }

    [Fact]
    public void Special_tokens_in_text_are_single_ids_and_decode_glues_continuations()
    {
        var t = Small();
        var ids = t.Encode("The food was [MASK].");
        Assert.Equal(["the", "food", "was", "[MASK]", "."], ids.Select(t.TokenText));
        Assert.Equal(4, t.MaskId);
        Assert.Equal((2, 3, 0), (t.ClsId, t.SepId, t.PadId));
        Assert.Equal("unaffable was great", t.Decode(t.Encode("unaffable was great")));
    }

    [Fact]
    public void Trained_vocabulary_round_trips_through_tokenizer_json()
    {
        var trainer = new WordPieceTrainer();
        foreach (var sentence in new[] { "The food was great, the service was great.",
            "Playing and played; the players play!", "Great food. Other food." })
            for (int i = 0; i < 3; i++) trainer.Add(sentence);
        var trained = trainer.Train(vocabSize: 80);
        Assert.True(trained.VocabSize <= 80);
        Assert.Equal(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"], trained.Pieces.Take(5));
        Assert.Contains(trained.Pieces, p => p.StartsWith("##") && p.Length > 3); // merged continuations exist
        Assert.Contains("great", trained.Pieces);
        string text = "The players played great food [MASK] zzz";
        // every character is in the alphabet
        Assert.DoesNotContain(trained.UnknownId, trained.Encode("the players played great food"));

        using var dir = new TempDirectory();
        string path = dir.File("tokenizer.json");
        TokenizerJson.Write(path, trained);
        var reread = Assert.IsType<WordPieceTokenizer>(TokenizerLoader.Load(dir.Path));
        Assert.Equal(trained.Pieces, reread.Pieces);
        Assert.Equal(trained.Encode(text), reread.Encode(text));
        Assert.Equal(trained.MaskId, reread.MaskId);
    }
}
