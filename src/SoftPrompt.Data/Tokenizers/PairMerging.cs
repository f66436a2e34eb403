namespace SoftPrompt.Data.Tokenizers;

/// <summary>
/// The core of BPE training, shared by the byte-level BPE and WordPiece trainers: words as sequences of symbol ids with
/// counts; the most frequent adjacent pair (summed over words weighted by their counts) becomes a new symbol, until
/// enough merges are made or no pair is frequent enough. Ties go to the pair with the smaller ids (deterministic).
/// </summary>
internal static class PairMerging
{
    /// <param name="merge">Makes the symbol for (left, right) and returns its id (an existing one when two merges spell
    /// the same string).</param>
    public static void Run(List<int[]> words, List<long> counts, int mergesWanted, int minPairCount, Func<int, int,
        int> merge)
    {
        var pairCounts = new Dictionary<long, long>();
        var pairWords = new Dictionary<long, HashSet<int>>();
        for (int w = 0; w < words.Count; w++) CountPairs(words[w], counts[w], w, pairCounts, pairWords, sign: 1);
        // Max-heap by count, lazily invalidated: an entry whose count is stale is skipped when popped.
        var queue = new PriorityQueue<long, (long NegCount, long Pair)>();
        foreach (var (pair, count) in pairCounts) queue.Enqueue(pair, (-count, pair));

        for (int done = 0; done < mergesWanted && queue.TryDequeue(out long best, out var priority);)
        {
            long current = pairCounts.GetValueOrDefault(best);
            if (current != -priority.NegCount) continue; // stale
            if (current < minPairCount) break;
            int left = (int)(best >> 32), right = (int)(best & 0xFFFFFFFF);
            int merged = merge(left, right);
            done++;

            var touched = new HashSet<long>();
            foreach (int w in pairWords[best].ToArray())
            {
                CountPairs(words[w], counts[w], w, pairCounts, pairWords, sign: -1, touched);
                words[w] = MergeInWord(words[w], left, right, merged);
                CountPairs(words[w], counts[w], w, pairCounts, pairWords, sign: 1, touched);
            }
            foreach (long pair in touched)
                if (pairCounts.GetValueOrDefault(pair) is long c and > 0) queue.Enqueue(pair, (-c, pair));
        }
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
