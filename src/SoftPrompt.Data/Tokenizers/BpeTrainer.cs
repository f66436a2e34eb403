namespace SoftPrompt.Data.Tokenizers;

/// <summary>
/// Trains a byte-level BPE vocabulary the way GPT-2's was made: text is cut by the GPT-2 pre-tokenizer, each piece
/// starts as its UTF-8 bytes, and the most frequent adjacent pair (summed over pieces weighted by their counts) is
/// merged until the vocabulary is full. Ties go to the pair with the smaller ids, so training is deterministic.
/// </summary>
public sealed class BpeTrainer
{
    private readonly Dictionary<string, long> _pieceCounts = new();

    /// <summary>Adds a text's pre-tokenized pieces to the counts.</summary>
    public void Add(string text)
    {
        foreach (var piece in Gpt2PreTokenizer.Split(text))
            _pieceCounts[piece] = _pieceCounts.GetValueOrDefault(piece) + 1;
    }

    public long DistinctPieces => _pieceCounts.Count;

    /// <param name="vocabSize">Total size: 256 byte tokens + merges + special tokens.</param>
    /// <param name="minPairCount">Pairs seen fewer times than this are never merged (training stops early).</param>
    public ByteLevelBpeTokenizer Train(int vocabSize, IReadOnlyList<string> specialTokens, int minPairCount = 2,
        Action<int, int>? progress = null)
    {
        int mergesWanted = vocabSize - 256 - specialTokens.Count;
        if (mergesWanted < 0)
            throw new ArgumentException(
                $"A vocabulary of {vocabSize} cannot hold the 256 byte tokens and {specialTokens.Count} special " +
                    $"tokens.");

        var tokens = Enumerable.Range(0, 256).Select(b => ByteLevelEncoding.CharOf((byte)b).ToString()).ToList();
        var words = new List<int[]>(_pieceCounts.Count);
        var counts = new List<long>(_pieceCounts.Count);
        foreach (var (piece, count) in _pieceCounts.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            words.Add(System.Text.Encoding.UTF8.GetBytes(piece).Select(b => (int)b).ToArray());
            counts.Add(count);
        }

        var merges = new List<(string, string)>(mergesWanted);
        PairMerging.Run(words, counts, mergesWanted, minPairCount, (left, right) =>
        {
            tokens.Add(tokens[left] + tokens[right]);
            merges.Add((tokens[left], tokens[right]));
            progress?.Invoke(merges.Count, mergesWanted);
            return tokens.Count - 1;
        });

        var vocab = new Dictionary<string, int>();
        for (int i = 0; i < tokens.Count; i++) vocab[tokens[i]] = i;
        var specials = specialTokens.Select((s, i) => new SpecialToken(tokens.Count + i, s)).ToList();
        return new ByteLevelBpeTokenizer(vocab, merges, specials, "trained tokenizer");
    }
}
