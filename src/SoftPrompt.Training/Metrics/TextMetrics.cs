namespace SoftPrompt.Training.Metrics;

/// <summary>
/// Generation metrics over whitespace/punctuation words, lower-cased: corpus BLEU-4 (Papineni et al. 2002; n-gram
/// counts with add-one smoothing for n ≥ 2, Lin &amp; Och 2004, so short outputs do not collapse to 0) and ROUGE-L F1
/// (longest common subsequence, Lin 2004) averaged over sentences.
/// </summary>
public static class TextMetrics
{
    public static string[] Words(string text) =>
        System.Text.RegularExpressions.Regex.Matches(text.ToLowerInvariant(), @"\w+|[^\w\s]").Select(m => m.Value)
            .ToArray();

    public static double CorpusBleu(IReadOnlyList<string> references, IReadOnlyList<string> hypotheses,
        int maxOrder = 4)
    {
        if (references.Count != hypotheses.Count)
            throw new ArgumentException($"{references.Count} references but {hypotheses.Count} hypotheses.");
        var matches = new long[maxOrder + 1];
        var totals = new long[maxOrder + 1];
        long referenceLength = 0, hypothesisLength = 0;
        for (int i = 0; i < references.Count; i++)
        {
            var reference = Words(references[i]);
            var hypothesis = Words(hypotheses[i]);
            referenceLength += reference.Length;
            hypothesisLength += hypothesis.Length;
            for (int n = 1; n <= maxOrder; n++)
            {
                var referenceCounts = NGrams(reference, n);
                foreach (var (gram, count) in NGrams(hypothesis, n))
                {
                    matches[n] += Math.Min(count, referenceCounts.GetValueOrDefault(gram));
                    totals[n] += count;
                }
            }
        }
        if (hypothesisLength == 0) return 0;
        double logPrecision = 0;
        for (int n = 1; n <= maxOrder; n++)
        {
            double precision = n == 1 ? (double)matches[n] / Math.Max(1, totals[n]) : (matches[n] + 1.0) / (
                totals[n] + 1.0);
            if (precision == 0) return 0;
            logPrecision += Math.Log(precision) / maxOrder;
        }
        double brevity = hypothesisLength >= referenceLength ? 1
            : Math.Exp(1 - (double)referenceLength / hypothesisLength);
        return brevity * Math.Exp(logPrecision);
    }

    public static double MeanRougeL(IReadOnlyList<string> references, IReadOnlyList<string> hypotheses)
    {
        if (references.Count != hypotheses.Count)
            throw new ArgumentException($"{references.Count} references but {hypotheses.Count} hypotheses.");
        if (references.Count == 0) return 0;
        double sum = 0;
        for (int i = 0; i < references.Count; i++)
        {
            var r = Words(references[i]);
            var h = Words(hypotheses[i]);
            int lcs = LongestCommonSubsequence(r, h);
            if (lcs == 0) continue;
            double precision = (double)lcs / h.Length, recall = (double)lcs / r.Length;
            sum += 2 * precision * recall / (precision + recall);
        }
        return sum / references.Count;
    }

    private static Dictionary<string, int> NGrams(string[] words, int n)
    {
        var counts = new Dictionary<string, int>();
        for (int i = 0; i + n <= words.Length; i++)
        {
            string gram = string.Join('\u0001', words, i, n);
            counts[gram] = counts.GetValueOrDefault(gram) + 1;
        }
        return counts;
    }

    private static int LongestCommonSubsequence(string[] a, string[] b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (int i = 1; i <= a.Length; i++)
        {
            for (int j = 1; j <= b.Length; j++)
                current[j] = a[i - 1] == b[j - 1] ? previous[j - 1] + 1 : Math.Max(previous[j], current[j - 1]);
            (previous, current) = (current, previous);
        }
        return previous[b.Length];
    }
}
