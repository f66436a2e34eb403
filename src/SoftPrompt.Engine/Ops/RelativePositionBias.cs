namespace SoftPrompt.Engine.Ops;

/// <summary>
/// T5's relative position bias (Raffel et al. 2020): each (query, key) pair falls into one of a few buckets by the
/// key's offset from the query, exact for small offsets and logarithmic up to a maximum distance; each bucket holds a
/// learned scalar per head that is added to the attention score. Bidirectional (encoder) attention gives keys before
/// and after the query separate halves of the buckets; causal (decoder) attention only ever sees keys at or before it.
/// </summary>
public static class RelativePositionBias
{
    /// <summary>The bucket of a key at relativePosition = keyPosition − queryPosition, as Hugging Face's
    /// T5Attention._relative_position_bucket computes it, float32 logarithm included so buckets match at the
    /// edges.</summary>
    public static int Bucket(int relativePosition, bool bidirectional, int numBuckets, int maxDistance)
    {
        int bucket = 0, distance;
        if (bidirectional)
        {
            numBuckets /= 2;
            if (relativePosition > 0) bucket += numBuckets;
            distance = Math.Abs(relativePosition);
        }
        else
        {
            distance = -Math.Min(relativePosition, 0);
        }
        int maxExact = numBuckets / 2;
        if (distance < maxExact) return bucket + distance;
        float scaled = MathF.Log(distance / (float)maxExact) / (float)Math.Log(maxDistance / (double)maxExact) * (
            numBuckets - maxExact);
        return bucket + Math.Min(maxExact + (int)scaled, numBuckets - 1);
    }

    /// <summary>Buckets (T, S) of queries at positions queryOffset + t and keys at positions j.</summary>
    public static int[] Buckets(int queryLen, int keyLen, int queryOffset, bool bidirectional, int numBuckets,
        int maxDistance)
    {
        var buckets = new int[queryLen * keyLen];
        for (int t = 0; t < queryLen; t++)
            for (int j = 0; j < keyLen; j++)
                buckets[t * keyLen + j] = Bucket(j - (queryOffset + t), bidirectional, numBuckets, maxDistance);
        return buckets;
    }

    // table is (numBuckets, H), buckets (T, S); bias (H, T, extraKeys + S): the first extraKeys columns (prefix rows,
    // which have no position) stay zero.
    public static void Forward(Span<float> bias, ReadOnlySpan<float> table, ReadOnlySpan<int> buckets, int heads,
        int queryLen, int keyLen, int extraKeys)
    {
        int width = extraKeys + keyLen;
        bias.Clear();
        for (int h = 0; h < heads; h++)
            for (int t = 0; t < queryLen; t++)
            {
                var row = bias.Slice((h * queryLen + t) * width + extraKeys, keyLen);
                var rowBuckets = buckets.Slice(t * keyLen, keyLen);
                for (int j = 0; j < keyLen; j++) row[j] = table[rowBuckets[j] * heads + h];
            }
    }

    // dTable (numBuckets, H) += the bias gradient summed over the pairs of each bucket.
    public static void Backward(Span<float> dTable, ReadOnlySpan<float> dBias, ReadOnlySpan<int> buckets, int heads,
        int queryLen, int keyLen, int extraKeys)
    {
        int width = extraKeys + keyLen;
        for (int h = 0; h < heads; h++)
            for (int t = 0; t < queryLen; t++)
            {
                var row = dBias.Slice((h * queryLen + t) * width + extraKeys, keyLen);
                var rowBuckets = buckets.Slice(t * keyLen, keyLen);
                for (int j = 0; j < keyLen; j++) dTable[rowBuckets[j] * heads + h] += row[j];
            }
    }
}
