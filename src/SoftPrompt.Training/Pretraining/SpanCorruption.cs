namespace SoftPrompt.Training.Pretraining;

/// <summary>
/// T5's span corruption (Raffel et al. 2020, §3.1.4): about 15% of a window's tokens, in spans of mean length 3, are
/// each replaced in the input by one sentinel; the target lists each sentinel followed by the tokens it hid, then the
/// end-of-sequence token. Noise and span counts depend only on the window length, so every example of one length has
/// the same input and target lengths and batches need no padding.
/// </summary>
/// <param name="Sentinels">Sentinel ids in order (&lt;extra_id_0&gt;, &lt;extra_id_1&gt;, …); at least as many as
/// spans.</param>
public sealed record SpanCorruption(IReadOnlyList<int> Sentinels, int EndOfSequence, double NoiseDensity = 0.15,
    double MeanSpanLength = 3)
{
    public int NoiseTokens(int length) => Math.Clamp((int)Math.Round(length * NoiseDensity), 1, length - 1);

    public int Spans(int length) => Math.Clamp((int)Math.Round(NoiseTokens(length) / MeanSpanLength), 1,
        Math.Min(NoiseTokens(length), length - NoiseTokens(length)));

    public int InputLength(int length) => length - NoiseTokens(length) + Spans(length) + 1;

    public int TargetLength(int length) => NoiseTokens(length) + Spans(length) + 1;

    /// <summary>Corrupts <paramref name="window"/> into <paramref name="input"/> (InputLength) and
    /// <paramref name="target"/> (TargetLength).</summary>
    public void Apply(Random random, ReadOnlySpan<int> window, Span<int> input, Span<int> target)
    {
        int length = window.Length, noise = NoiseTokens(length), spans = Spans(length);
        if (spans > Sentinels.Count)
            throw new ArgumentException(
                $"Span corruption of {length} tokens makes {spans} spans, but there are only {Sentinels.Count} " +
                $"sentinels.");
        if (input.Length != InputLength(length) || target.Length != TargetLength(length))
            throw new ArgumentException(
                $"Span corruption of {length} tokens: input must hold {InputLength(length)} and target " +
                $"{TargetLength(length)} ids.");
        // Alternate kept and noise segments, kept first, each of at least one token.
        var noiseLengths = RandomPartition(random, noise, spans);
        var keptLengths = RandomPartition(random, length - noise, spans);
        int read = 0, written = 0, targetWritten = 0;
        for (int s = 0; s < spans; s++)
        {
            window.Slice(read, keptLengths[s]).CopyTo(input[written..]);
            read += keptLengths[s];
            written += keptLengths[s];
            input[written++] = Sentinels[s];
            target[targetWritten++] = Sentinels[s];
            window.Slice(read, noiseLengths[s]).CopyTo(target[targetWritten..]);
            read += noiseLengths[s];
            targetWritten += noiseLengths[s];
        }
        input[written] = EndOfSequence;
        target[targetWritten] = EndOfSequence;
    }

    // n items cut into k non-empty runs, every such cut equally likely: k − 1 distinct cut points among the n − 1 gaps.
    private static int[] RandomPartition(Random random, int n, int k)
    {
        var gaps = Enumerable.Range(1, n - 1).ToArray();
        random.Shuffle(gaps);
        var cuts = gaps.Take(k - 1).Order().Append(n).ToArray();
        var lengths = new int[k];
        int previous = 0;
        for (int i = 0; i < k; i++) { lengths[i] = cuts[i] - previous; previous = cuts[i]; }
        return lengths;
    }
}
