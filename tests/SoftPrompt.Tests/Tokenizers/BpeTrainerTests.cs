using SoftPrompt.Data.Tokenizers;
using SoftPrompt.Tests.Support;
using Xunit;

namespace SoftPrompt.Tests.Tokenizers;

public class BpeTrainerTests
{
    private static readonly string[] Texts =
    {
        "the cat sat on the mat, and the other cat sat on the hat.",
        "Then the cats sang: la la la! The end of the theme.",
        "Über naïve café — the the the; 1234 1234 12.",
        "  spaces   and\ttabs\nnewlines the end",
    };

    // The definition, done slowly: recount every pair of every piece after each merge.
    private static List<(string, string)> ReferenceMerges(IEnumerable<string> texts, int count)
    {
        var pieces = new Dictionary<string, long>();
        foreach (var t in texts)
            foreach (var p in Gpt2PreTokenizer.Split(t)) pieces[p] = pieces.GetValueOrDefault(p) + 1;
        var words = pieces.Select(kv => (Symbols: ByteLevelEncoding.TextToTokenString(kv.Key).Select(c => c.ToString())
            .ToList(), kv.Value)).ToList();
        var ids = Enumerable.Range(0, 256).ToDictionary(b => ByteLevelEncoding.CharOf((byte)b).ToString(), b => b);
        var merges = new List<(string, string)>();
        while (merges.Count < count)
        {
            var pairCounts = new Dictionary<(string, string), long>();
            foreach (var (symbols, n) in words)
                for (int i = 0; i + 1 < symbols.Count; i++)
                    pairCounts[(symbols[i], symbols[i + 1])] = pairCounts.GetValueOrDefault((symbols[i],
                        symbols[i + 1])) + n;
            if (pairCounts.Count == 0) break;
            var best = pairCounts.OrderByDescending(kv => kv.Value).ThenBy(kv => ids[kv.Key.Item1]).ThenBy(kv =>
                ids[kv.Key.Item2]).First();
            if (best.Value < 2) break;
            merges.Add(best.Key);
            ids[best.Key.Item1 + best.Key.Item2] = ids.Count;
            foreach (var (symbols, _) in words)
                for (int i = 0; i + 1 < symbols.Count; i++)
                    if (symbols[i] == best.Key.Item1 && symbols[i + 1] == best.Key.Item2)
                    {
                        symbols[i] += symbols[i + 1];
                        symbols.RemoveAt(i + 1);
                    }
        }
        return merges;
    }

    private static ByteLevelBpeTokenizer Train(int vocabSize)
    {
        var trainer = new BpeTrainer();
        foreach (var t in Texts) trainer.Add(t);
        return trainer.Train(vocabSize, new[] { "<|endoftext|>" });
    }

    [Fact]
    public void Merges_match_a_slow_reference_trainer()
    {
        var tokenizer = Train(256 + 40 + 1);
        var expected = ReferenceMerges(Texts, 40);
        Assert.True(expected.Count >= 20, "the sample should support a good number of merges");
        Assert.Equal(expected, tokenizer.Merges.ToList());
    }

    [Fact]
    public void Trained_tokenizer_compresses_round_trips_and_survives_tokenizer_json()
    {
        var tokenizer = Train(256 + 60 + 1);
        string text = "the cat sat on the hat. Über café!";
        var ids = tokenizer.Encode(text);
        Assert.Equal(text, tokenizer.Decode(ids));
        Assert.True(ids.Length < System.Text.Encoding.UTF8.GetByteCount(text) * 0.7,
            $"{ids.Length} tokens is hardly compressed");
        Assert.Equal(tokenizer.VocabSize - 1, tokenizer.EosId);
        Assert.Equal(new[] { tokenizer.EosId!.Value }, tokenizer.Encode("<|endoftext|>"));

        using var dir = new TempDirectory();
        TokenizerJson.Write(dir.File("tokenizer.json"), tokenizer);
        var reread = TokenizerLoader.Load(dir.Path);
        Assert.Equal(ids, reread.Encode(text));
        Assert.Equal(tokenizer.VocabSize, reread.VocabSize);
    }

    [Fact]
    public void Too_small_a_vocabulary_is_rejected()
    {
        var trainer = new BpeTrainer();
        trainer.Add("abc");
        Assert.Throws<ArgumentException>(() => trainer.Train(200, new[] { "<|endoftext|>" }));
    }
}
