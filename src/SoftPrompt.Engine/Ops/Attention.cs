using System.Numerics.Tensors;
using SoftPrompt.Engine.Kernels;

namespace SoftPrompt.Engine.Ops;

/// <summary>
/// The sizes of one attention call. Queries are (Batch, QueryLen, NumHeads*HeadDim); keys and values are
/// (Batch, KeyLen, NumKvHeads*HeadDim). Under a causal mask KeyLen ≥ QueryLen: the first KeyLen−QueryLen key rows (a
/// prefix or a KV cache) are visible to every query, and query t also sees key rows up to KeyLen−QueryLen+t. Without
/// it every query sees all KeyLen rows, however few.
/// </summary>
public readonly record struct AttentionShape(int Batch, int QueryLen, int KeyLen, int NumHeads, int NumKvHeads,
    int HeadDim, bool Causal)
{
    /// <summary>The factor scores are multiplied by before the softmax; null means 1/√HeadDim. T5 uses 1 (its
    /// initialisation folds the scale into the query weights).</summary>
    public float? ScoreScale { get; init; }

    public int QueryWidth => NumHeads * HeadDim;
    public int KvWidth => NumKvHeads * HeadDim;
    public int HeadsPerKvHead => NumHeads / NumKvHeads;
    public int ExtraKeys => KeyLen - QueryLen;
    public float Scale => ScoreScale ?? 1f / MathF.Sqrt(HeadDim);
    public int ProbsLength => Batch * NumHeads * QueryLen * KeyLen;

    /// <summary>Keys visible to query t (a prefix [0, n) of the key rows, before padding).</summary>
    public int VisibleKeys(int t) => Causal ? ExtraKeys + t + 1 : KeyLen;
}

/// <summary>
/// Multi-head scaled dot-product attention with grouped-query heads (query head h reads kv head h / HeadsPerKvHead).
/// The softmax probabilities (Batch, NumHeads, QueryLen, KeyLen) are kept for backward; masked entries are exactly 0,
/// so a query whose every key is masked outputs zeros and passes no gradient. An optional additive bias (NumHeads,
/// QueryLen, KeyLen), shared by every batch row, is added to the scaled scores: T5's relative position buckets.
/// </summary>
public static unsafe class Attention
{
    // Query rows go through in blocks: under a causal mask a block multiplies only against the keys its last row can
    // see, which skips most of the masked upper triangle while keeping the GEMMs large enough to be efficient.
    private const int QueryBlock = 32;

    // Below this many multiply-adds in total, thread hand-off costs more than it saves.
    private const long ParallelThreshold = 1 << 18;

    // q is (B, T, H*d), k and v are (B, S, Hkv*d), keyPadding is (B*S) or empty (true = masked),
    // output is (B, T, H*d), probs is (B, H, T, S)
    // bias is (H, T, S) or empty.
    public static void Forward(Span<float> output, Span<float> probs, ReadOnlySpan<float> q, ReadOnlySpan<float> k,
        ReadOnlySpan<float> v, ReadOnlySpan<bool> keyPadding, in AttentionShape shape, ReadOnlySpan<float> bias =
            default)
    {
        CheckLengths(shape, q.Length, k.Length, v.Length, keyPadding.Length);
        CheckBias(shape, bias.Length);
        if (output.Length != q.Length || probs.Length != shape.ProbsLength)
            throw new ArgumentException("Attention.Forward: output or probability buffer has the wrong length.");
        if (shape.QueryLen == 0) return;
        fixed (float* po = output) fixed (float* pp = probs) fixed (float* pq = q) fixed (float* pk = k) fixed (
            float* pv = v)
        fixed (bool* pad = keyPadding) fixed (float* pb = bias)
        {
            var body = new ForwardBody
            {
                Shape = shape, Output = po, Probs = pp, Q = pq, K = pk, V = pv,
                Padding = keyPadding.IsEmpty ? null : pad, Bias = bias.IsEmpty ? null : pb,
            };
            int items = shape.Batch * shape.NumHeads;
            RunChunks(ref body, items, ChunkCount(shape, items));
        }
    }

    /// <summary>Floats of scratch <see cref="Backward"/> needs for these sizes (with a bias gradient: room for each
    /// thread's partial sum of it too, since batch rows on different threads add into the same bias entries).</summary>
    public static int BackwardScratchLength(in AttentionShape shape, bool biasGradient = false)
    {
        int items = shape.Batch * shape.NumKvHeads, chunks = ChunkCount(shape, items);
        int scores = chunks * Math.Min(shape.QueryLen, QueryBlock) * shape.KeyLen;
        return biasGradient ? scores + chunks * BiasLength(shape) : scores;
    }

    private static int BiasLength(in AttentionShape s) => s.NumHeads * s.QueryLen * s.KeyLen;

    // Accumulates into whichever of dq (B, T, H*d), dk, dv (B, S, Hkv*d), dBias (H, T, S) is non-empty. probs is
    // Forward's output; scratch has BackwardScratchLength floats.
    public static void Backward(Span<float> dq, Span<float> dk, Span<float> dv, ReadOnlySpan<float> dOutput,
        ReadOnlySpan<float> probs, ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v,
        Span<float> scratch, in AttentionShape shape, Span<float> dBias = default)
    {
        CheckBias(shape, dBias.Length);
        CheckLengths(shape, q.Length, k.Length, v.Length, 0);
        if ((!dq.IsEmpty && dq.Length != q.Length) || (!dk.IsEmpty && dk.Length != k.Length)
            || (!dv.IsEmpty && dv.Length != v.Length)
            || dOutput.Length != q.Length || probs.Length != shape.ProbsLength)
            throw new ArgumentException("Attention.Backward: a gradient or probability buffer has the wrong length.");
        bool biasGradient = !dBias.IsEmpty;
        if (scratch.Length < BackwardScratchLength(shape, biasGradient))
            throw new ArgumentException(
                $"Attention.Backward: scratch has {scratch.Length} floats, needs " +
                $"{BackwardScratchLength(shape, biasGradient)}.");
        if (shape.QueryLen == 0 || (dq.IsEmpty && dk.IsEmpty && dv.IsEmpty && dBias.IsEmpty)) return;
        // One work item per (batch, kv head): the query heads sharing a kv head all add into its dk/dv rows, so
        // they must run on the same thread.
        int items = shape.Batch * shape.NumKvHeads, chunks = ChunkCount(shape, items);
        int scoresPerChunk = Math.Min(shape.QueryLen, QueryBlock) * shape.KeyLen, biasLength = BiasLength(shape);
        var biasPartials = biasGradient ? scratch.Slice(chunks * scoresPerChunk, chunks * biasLength) : default;
        biasPartials.Clear();
        fixed (float* pdq = dq) fixed (float* pdk = dk) fixed (float* pdv = dv) fixed (float* pdo = dOutput)
        fixed (float* pp = probs) fixed (float* pq = q) fixed (float* pk = k) fixed (float* pv = v) fixed (float* ps =
            scratch)
        fixed (float* pdb = biasPartials)
        {
            var body = new BackwardBody
            {
                Shape = shape, DQ = dq.IsEmpty ? null : pdq, DK = dk.IsEmpty ? null : pdk, DV = dv.IsEmpty ? null : pdv,
                DOutput = pdo, Probs = pp, Q = pq, K = pk, V = pv, Scratch = ps,
                ScratchPerChunk = scoresPerChunk, DBiasPartials = biasGradient ? pdb : null, BiasLength = biasLength,
            };
            RunChunks(ref body, items, chunks);
        }
        for (int c = 0; c < (biasGradient ? chunks : 0); c++)
            TensorPrimitives.Add(dBias, biasPartials.Slice(c * biasLength, biasLength), dBias);
    }

    private static void CheckBias(in AttentionShape s, int biasLength)
    {
        if (biasLength != 0 && biasLength != BiasLength(s))
            throw new ArgumentException(
                $"Attention: the score bias has {biasLength} floats, expected heads*queries*keys = " +
                $"{s.NumHeads}*{s.QueryLen}*{s.KeyLen}.");
    }

    private static void CheckLengths(in AttentionShape s, int qLength, int kLength, int vLength, int paddingLength)
    {
        if (s.Batch < 0 || s.QueryLen < 0 || s.NumHeads <= 0 || s.NumKvHeads <= 0 || s.HeadDim <= 0)
            throw new ArgumentException($"Attention: invalid sizes {s}.");
        if (s.NumHeads % s.NumKvHeads != 0)
            throw new ArgumentException(
                $"Attention: {s.NumHeads} query heads cannot be grouped over {s.NumKvHeads} kv heads.");
        if (s.Causal && s.KeyLen < s.QueryLen)
            throw new ArgumentException(
                $"Attention: {s.KeyLen} key rows is fewer than the {s.QueryLen} query rows of a causal mask.");
        if (qLength != s.Batch * s.QueryLen * s.QueryWidth || kLength != s.Batch * s.KeyLen * s.KvWidth
            || vLength != kLength)
            throw new ArgumentException(
                $"Attention: q ({qLength}), k ({kLength}) or v ({vLength}) floats do not match {s}.");
        if (paddingLength != 0 && paddingLength != s.Batch * s.KeyLen)
            throw new ArgumentException(
                $"Attention: key padding has {paddingLength} entries, expected batch*keys = {s.Batch * s.KeyLen}.");
    }

    // Large work is cut into a fixed number of chunks, not one per thread: the bias gradient is summed chunk by chunk,
    // so a chunk count that followed the threads (or the machine's cores) would change its rounding with --threads.
    private const int MaxChunks = 8;

    private static int ChunkCount(in AttentionShape s, int items)
    {
        long work = (long)s.Batch * s.NumHeads * s.QueryLen * s.KeyLen * s.HeadDim;
        if (items < 2 || work < ParallelThreshold) return 1;
        return Math.Min(items, MaxChunks);
    }

    private interface IChunkBody
    {
        void Run(int chunk, int firstItem, int endItem);
    }

    private static void RunChunks<TBody>(ref TBody body, int items, int chunks) where TBody : struct, IChunkBody
    {
        if (chunks <= 1) body.Run(0, 0, items);
        else RunChunksInParallel(body, items, chunks);
    }

    // Kept apart from RunChunks so that the serial path allocates no closure. Parallelism.For: --threads, and serial
    // inside an outer parallel region.
    private static void RunChunksInParallel<TBody>(TBody body, int items, int chunks) where TBody : struct, IChunkBody
        => Parallelism.For(chunks, c => body.Run(c, (int)((long)items * c / chunks),
            (int)((long)items * (c + 1) / chunks)));

    private struct ForwardBody : IChunkBody
    {
        public AttentionShape Shape;
        public float* Output, Probs, Q, K, V, Bias;
        public bool* Padding;

        public void Run(int chunk, int firstItem, int endItem)
        {
            var s = Shape;
            int qStride = s.QueryWidth, kvStride = s.KvWidth, d = s.HeadDim, T = s.QueryLen, S = s.KeyLen;
            for (int item = firstItem; item < endItem; item++)
            {
                int b = item / s.NumHeads, h = item % s.NumHeads, kvHead = h / s.HeadsPerKvHead;
                float* qHead = Q + (long)b * T * qStride + h * d;
                float* oHead = Output + (long)b * T * qStride + h * d;
                float* kHead = K + (long)b * S * kvStride + kvHead * d;
                float* vHead = V + (long)b * S * kvStride + kvHead * d;
                float* pHead = Probs + (long)item * T * S;
                bool* pad = Padding == null ? null : Padding + (long)b * S;
                for (int t0 = 0; t0 < T; t0 += QueryBlock)
                {
                    int rows = Math.Min(QueryBlock, T - t0);
                    int width = s.VisibleKeys(t0 + rows - 1);
                    float* pBlock = pHead + (long)t0 * S;
                    Sgemm.Multiply(false, true, rows, width, d, qHead + (long)t0 * qStride, qStride, kHead, kvStride,
                        pBlock, S, accumulate: false);
                    float* biasBlock = Bias == null ? null : Bias + ((long)h * T + t0) * S;
                    for (int r = 0; r < rows; r++)
                        MaskedSoftmax(new Span<float>(pBlock + (long)r * S, S), s.VisibleKeys(t0 + r), pad, s.Scale,
                            biasBlock == null ? null : biasBlock + (long)r * S);
                    Sgemm.Multiply(false, false, rows, d, width, pBlock, S, vHead, kvStride, oHead + (long)t0 * qStride,
                        qStride, accumulate: false);
                }
            }
        }
    }

    // row holds raw scores in [0, visible); on return it holds probabilities over the full key width, zero wherever a
    // key is masked (beyond visible, or padded), and all zero when nothing is visible. bias, when given, is this
    // query's row of additive biases over the full key width.
    private static void MaskedSoftmax(Span<float> row, int visible, bool* pad, float scale, float* bias = null)
    {
        if (bias != null) { BiasedMaskedSoftmax(row, visible, pad, scale, bias); return; }
        row.Slice(visible).Clear();
        // Leading padding (left-padded rows of a mixed batch) is cut off rather than summed as zeros, so a padded row
        // reduces exactly the same numbers in the same order as the row run alone.
        int first = 0;
        if (pad != null) while (first < visible && pad[first]) first++;
        row.Slice(0, first).Clear();
        var live = row.Slice(first, visible - first);
        if (pad != null)
            for (int j = 0; j < live.Length; j++)
                if (pad[first + j]) live[j] = float.NegativeInfinity;
        if (live.IsEmpty) return;
        float max = TensorPrimitives.Max(live);
        if (float.IsNegativeInfinity(max)) { live.Clear(); return; }
        TensorPrimitives.Subtract(live, max, live);
        TensorPrimitives.Multiply(live, scale, live);
        TensorPrimitives.Exp(live, live);
        TensorPrimitives.Multiply(live, 1f / TensorPrimitives.Sum(live), live);
    }

    // MaskedSoftmax of scale·score + bias; kept apart so that unbiased attention runs exactly the arithmetic it always
    // has.
    private static void BiasedMaskedSoftmax(Span<float> row, int visible, bool* pad, float scale, float* bias)
    {
        row.Slice(visible).Clear();
        int first = 0;
        if (pad != null) while (first < visible && pad[first]) first++;
        row.Slice(0, first).Clear();
        var live = row.Slice(first, visible - first);
        if (live.IsEmpty) return;
        TensorPrimitives.MultiplyAdd(live, scale, new ReadOnlySpan<float>(bias + first, live.Length), live);
        if (pad != null)
            for (int j = 0; j < live.Length; j++)
                if (pad[first + j]) live[j] = float.NegativeInfinity;
        float max = TensorPrimitives.Max(live);
        if (float.IsNegativeInfinity(max)) { live.Clear(); return; }
        TensorPrimitives.Subtract(live, max, live);
        TensorPrimitives.Exp(live, live);
        TensorPrimitives.Multiply(live, 1f / TensorPrimitives.Sum(live), live);
    }

    private struct BackwardBody : IChunkBody
    {
        public AttentionShape Shape;
        public float* DQ, DK, DV, DOutput, Probs, Q, K, V, Scratch, DBiasPartials;
        public int ScratchPerChunk, BiasLength;

        public void Run(int chunk, int firstItem, int endItem)
        {
            var s = Shape;
            int qStride = s.QueryWidth, kvStride = s.KvWidth, d = s.HeadDim, T = s.QueryLen, S = s.KeyLen;
            float* dScores = Scratch + (long)chunk * ScratchPerChunk;
            float* dBias = DBiasPartials == null ? null : DBiasPartials + (long)chunk * BiasLength;
            bool needScores = DQ != null || DK != null || dBias != null;
            for (int item = firstItem; item < endItem; item++)
            {
                int b = item / s.NumKvHeads, kvHead = item % s.NumKvHeads;
                long kvOffset = (long)b * S * kvStride + kvHead * d;
                for (int h = kvHead * s.HeadsPerKvHead; h < (kvHead + 1) * s.HeadsPerKvHead; h++)
                {
                    long qOffset = (long)b * T * qStride + h * d;
                    float* pHead = Probs + ((long)b * s.NumHeads + h) * T * S;
                    for (int t0 = 0; t0 < T; t0 += QueryBlock)
                    {
                        int rows = Math.Min(QueryBlock, T - t0);
                        int width = s.VisibleKeys(t0 + rows - 1);
                        float* pBlock = pHead + (long)t0 * S;
                        long blockOffset = qOffset + (long)t0 * qStride;
                        float* dOut = DOutput + blockOffset;
                        // dV += Pᵀ·dO
                        if (DV != null)
                            Sgemm.Multiply(true, false, width, d, rows, pBlock, S, dOut, qStride, DV + kvOffset,
                                kvStride, accumulate: true);
                        if (!needScores) continue;
                        // dP = dO·Vᵀ, then through the softmax: dScore = P ⊙ (dP − Σ_j P·dP) · scale
                        Sgemm.Multiply(false, true, rows, width, d, dOut, qStride, V + kvOffset, kvStride, dScores,
                            width, accumulate: false);
                        for (int r = 0; r < rows; r++)
                        {
                            var p = new ReadOnlySpan<float>(pBlock + (long)r * S, width);
                            var g = new Span<float>(dScores + (long)r * width, width);
                            float delta = TensorPrimitives.Dot(p, g);
                            TensorPrimitives.AddMultiply(g, -delta, p, g);
                            if (dBias != null) // the bias enters unscaled, and is shared by every batch row
                            {
                                var biasRow = new Span<float>(dBias + ((long)h * T + t0 + r) * S, width);
                                TensorPrimitives.Add(biasRow, g, biasRow);
                            }
                            TensorPrimitives.Multiply(g, s.Scale, g);
                        }
                        if (DQ != null) // dQ += dScore·K
                            Sgemm.Multiply(false, false, rows, d, width, dScores, width, K + kvOffset, kvStride,
                                DQ + blockOffset, qStride, accumulate: true);
                        if (DK != null) // dK += dScoreᵀ·Q
                            Sgemm.Multiply(true, false, width, d, rows, dScores, width, Q + blockOffset, qStride,
                                DK + kvOffset, kvStride, accumulate: true);
                    }
                }
            }
        }
    }
}
