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
    public ByteLevelBpeTokenizer Train(int vocabSize, IReadOnlyList<string> specialTokens, int minPairCount = 2, Action<int, int>? progress = null)
    {
        int mergesWanted = vocabSize - 256 - specialTokens.Count;
        if (mergesWanted < 0)
            throw new ArgumentException($"A vocabulary of {vocabSize} cannot hold the 256 byte tokens and {specialTokens.Count} special tokens.");

        var tokens = Enumerable.Range(0, 256).Select(b => ByteLevelEncoding.CharOf((byte)b).ToString()).ToList();
        var words = new List<int[]>(_pieceCounts.Count);
        var counts = new List<long>(_pieceCounts.Count);
        foreach (var (piece, count) in _pieceCounts.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            words.Add(System.Text.Encoding.UTF8.GetBytes(piece).Select(b => (int)b).ToArray());
            counts.Add(count);
        }

        var pairCounts = new Dictionary<long, long>();
        var pairWords = new Dictionary<long, HashSet<int>>();
        for (int w = 0; w < words.Count; w++) CountPairs(words[w], counts[w], w, pairCounts, pairWords, sign: 1);
        // Max-heap by count, lazily invalidated: an entry whose count is stale is skipped when popped.
        var queue = new PriorityQueue<long, (long NegCount, long Pair)>();
        foreach (var (pair, count) in pairCounts) queue.Enqueue(pair, (-count, pair));

        var merges = new List<(string, string)>(mergesWanted);
        while (merges.Count < mergesWanted && queue.TryDequeue(out long best, out var priority))
        {
            long current = pairCounts.GetValueOrDefault(best);
            if (current != -priority.NegCount) continue; // stale
            if (current < minPairCount) break;
            int left = (int)(best >> 32), right = (int)(best & 0xFFFFFFFF);
            int merged = tokens.Count;
            tokens.Add(tokens[left] + tokens[right]);
            merges.Add((tokens[left], tokens[right]));

            var touched = new HashSet<long>();
            foreach (int w in pairWords[best].ToArray())
            {
                CountPairs(words[w], counts[w], w, pairCounts, pairWords, sign: -1, touched);
                words[w] = MergeInWord(words[w], left, right, merged);
                CountPairs(words[w], counts[w], w, pairCounts, pairWords, sign: 1, touched);
            }
            foreach (long pair in touched)
                if (pairCounts.GetValueOrDefault(pair) is long c and > 0) queue.Enqueue(pair, (-c, pair));
            progress?.Invoke(merges.Count, mergesWanted);
        }

        var vocab = new Dictionary<string, int>();
        for (int i = 0; i < tokens.Count; i++) vocab[tokens[i]] = i;
        var specials = specialTokens.Select((s, i) => new SpecialToken(tokens.Count + i, s)).ToList();
        return new ByteLevelBpeTokenizer(vocab, merges, specials, "trained tokenizer");
    }

    private static void CountPairs(int[] word, long count, int wordIndex, Dictionary<long, long> pairCounts,
        Dictionary<long, HashSet<int>> pairWords, int sign, HashSet<long>? touched = null)
    {
        for (int i = 0; i + 1 < word.Length; i++)
        {
            long pair = ((long)word[i] << 32) | (uint)word[i + 1];
            long updated = pairCounts.GetValueOrDefault(pair) + sign * count;
            if (updated == 0) pairCounts.Remove(pair); else pairCounts[pair] = updated;
            if (sign > 0)
            {
                if (!pairWords.TryGetValue(pair, out var set)) pairWords[pair] = set = new HashSet<int>();
                set.Add(wordIndex);
            }
            touched?.Add(pair);
        }
    }

    private static int[] MergeInWord(int[] word, int left, int right, int merged)
    {
        var result = new List<int>(word.Length);
        for (int i = 0; i < word.Length; i++)
        {
            if (i + 1 < word.Length && word[i] == left && word[i + 1] == right) { result.Add(merged); i++; }
            else result.Add(word[i]);
        }
        return result.ToArray();
    }
}
