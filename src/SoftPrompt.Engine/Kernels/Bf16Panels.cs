using System.Runtime.CompilerServices;

namespace SoftPrompt.Engine.Kernels;

/// <summary>
/// The right operand op(B) [k, n] of a product held as bfloat16 in the layout <see cref="Bf16MicroKernels"/> stream:
/// each 32-bit word holds two neighbours along k (the pair vdpbf16ps multiplies into one float32 lane), k is cut into
/// blocks of <see cref="BlockPairs"/> pairs, and inside a block the columns come in panels of 32, each panel its
/// block's steps one after another. A frozen weight is packed once: as it loads, or the first time a product needs it.
/// <para>Offset of the word of pair p, column j: block b = p / BlockPairs holds panels·steps(b)·32 words after the
/// full blocks before it; panel j / 32 starts steps(b)·32·(j / 32) words into the block.</para>
/// </summary>
internal sealed unsafe class Bf16Panels
{
    /// <summary>Pairs of k per block: a block of one panel (128 × 32 words = 16 KB) stays in L1 while the A panels
    /// sweep it.</summary>
    public const int BlockPairs = 128;

    private readonly uint[] _words;

    public int K { get; }
    public int N { get; }
    public int KPairs => (K + 1) / 2;
    public int Panels => (N + Bf16MicroKernels.Columns - 1) / Bf16MicroKernels.Columns;
    public int Blocks => (KPairs + BlockPairs - 1) / BlockPairs;
    public long Bytes => (long)_words.Length * sizeof(uint);

    private Bf16Panels(int k, int n, uint[]? reuse = null)
    {
        K = k;
        N = n;
        long words = Math.Max(1, (long)KPairs * Panels * Bf16MicroKernels.Columns);
        // pinned: the kernels read it through a pointer
        _words = reuse is not null && reuse.Length >= words ? reuse
            : GC.AllocateArray<uint>((int)words, pinned: true);
    }

    /// <summary>
    /// From this operand packed for x·Wᵀ (op(B)(p, j) = W[j, p]), the one for dy·W (op(B)(p, j) = W[p, j]) — into
    /// <paramref name="reuse"/>'s storage when it is large enough, so a backward pass can build each weight's in turn
    /// in one buffer instead of keeping a second copy of every weight. Each 64-bit word of two neighbouring columns
    /// here holds a 2×2 block of W (rows j, j+1; columns 2p, 2p+1); swapping its middle halves gives the two words of
    /// the other layout, which sit side by side there.
    /// </summary>
    public Bf16Panels TransposedForInputGradient(Bf16Panels? reuse)
    {
        var other = new Bf16Panels(N, K, reuse?._words);
        const int Nr = Bf16MicroKernels.Columns;
        // Both arrays are pinned, so Panel's pointers stay valid. Columns of the other layout that no word of this one
        // reaches (past 2·KPairs, in its last panel) are padding: zero them, as a fresh operand has.
        int firstUnreached = 2 * KPairs, lastPanelStart = (other.Panels - 1) * Nr;
        if (firstUnreached < other.Panels * Nr)
            for (int block = 0; block < other.Blocks; block++)
                for (int step = 0; step < other.Steps(block); step++)
                {
                    uint* row = other.Panel(block, other.Panels - 1) + (long)step * Nr;
                    for (int j = Math.Max(firstUnreached, lastPanelStart) - lastPanelStart; j < Nr; j++) row[j] = 0;
                }
        for (int block = 0; block < Blocks; block++)
        {
            int steps = Steps(block);
            for (int panel = 0; panel < Panels; panel++)
            {
                ulong* source = (ulong*)Panel(block, panel);
                // this panel's columns j = 32·panel + 2t are the other's pairs 16·panel + t: all in one block
                int firstPair = panel * (Nr / 2);
                if (firstPair >= other.KPairs) break;
                int otherBlock = firstPair / BlockPairs, pairs = Math.Min(Nr / 2, other.KPairs - firstPair);
                uint* target = other.Panel(otherBlock, 0) + (long)(firstPair % BlockPairs) * Nr;
                long panelStride = (long)other.Steps(otherBlock) * Nr;
                for (int step = 0; step < steps; step++, source += Nr / 2)
                {
                    int column = 2 * (block * BlockPairs + step); // the other's column of this step's pair
                    uint* at = target + (long)(column / Nr) * panelStride + column % Nr;
                    for (int t = 0; t < pairs; t++)
                    {
                        ulong word = source[t];
                        // halves a b c d (W[j,2p], W[j,2p+1], W[j+1,2p], W[j+1,2p+1]) → a c b d
                        *(ulong*)(at + (long)t * Nr) = (word & 0xFFFF_0000_0000_FFFFul)
                            | (word & 0x0000_0000_FFFF_0000ul) << 16 | (word & 0x0000_FFFF_0000_0000ul) >> 16;
                    }
                }
            }
        }
        return other;
    }

    /// <summary>Column <paramref name="j"/> of op(B) as float32 (K values): for a weight packed for x·Wᵀ, row j of W
    /// (a range of W that cuts rows). One word per pair, 32 words apart: about 5 ns a value, like reading element by
    /// element; a whole weight goes through <see cref="WidenTransposedTo"/> instead.</summary>
    public void WidenColumn(int j, Span<float> destination)
    {
        if ((uint)j >= (uint)N || destination.Length < K) throw new ArgumentException(
            $"Column {j} of a [{K}, {N}] operand needs {K} values; got room for {destination.Length}.");
        const int Nr = Bf16MicroKernels.Columns;
        int panel = j / Nr, lane = j % Nr;
        for (int block = 0; block < Blocks; block++)
        {
            int steps = Steps(block), k = 2 * block * BlockPairs;
            long at = BlockStart(block) + (long)panel * steps * Nr + lane;
            for (int step = 0; step < steps; step++, at += Nr, k += 2)
            {
                uint word = _words[at];
                destination[k] = BitConverter.UInt32BitsToSingle(word << 16);
                if (k + 1 < K) destination[k + 1] = BitConverter.UInt32BitsToSingle(word & 0xFFFF0000u);
            }
        }
    }

    /// <summary>All of op(B) as float32 in [N, K] row-major order — for a weight packed for x·Wᵀ, W itself. Reads
    /// the words in storage order (each 32-word row of a panel holds one pair of 32 rows of W), so it streams through
    /// memory instead of jumping a panel's width for every pair: 0.9 ns a value against 5.7 element by element (a
    /// 3072 × 768 weight, one core).</summary>
    public void WidenTransposedTo(Span<float> destination)
    {
        if (destination.Length < (long)N * K) throw new ArgumentException(
            $"A [{K}, {N}] operand needs {(long)N * K} values; got room for {destination.Length}.");
        const int Nr = Bf16MicroKernels.Columns;
        for (int block = 0; block < Blocks; block++)
        {
            int steps = Steps(block);
            for (int panel = 0; panel < Panels; panel++)
            {
                long at = BlockStart(block) + (long)panel * steps * Nr;
                int lanes = Math.Min(Nr, N - panel * Nr);
                for (int step = 0; step < steps; step++, at += Nr)
                {
                    int k = 2 * (block * BlockPairs + step);
                    bool second = k + 1 < K;
                    for (int lane = 0; lane < lanes; lane++)
                    {
                        uint word = _words[at + lane];
                        long to = (long)(panel * Nr + lane) * K + k;
                        destination[(int)to] = BitConverter.UInt32BitsToSingle(word << 16);
                        if (second) destination[(int)to + 1] = BitConverter.UInt32BitsToSingle(word & 0xFFFF0000u);
                    }
                }
            }
        }
    }

    public int Steps(int block) => Math.Min(BlockPairs, KPairs - block * BlockPairs);

    /// <summary>Panel <paramref name="panel"/> of block <paramref name="block"/>: Steps(block) × 32 words.</summary>
    public uint* Panel(int block, int panel) => (uint*)Unsafe.AsPointer(ref _words[0]) + BlockStart(block)
        + (long)panel * Steps(block) * Bf16MicroKernels.Columns;

    private long BlockStart(int block) => (long)block * BlockPairs * Panels * Bf16MicroKernels.Columns;

    private long Offset(int pair, int column)
    {
        int block = pair / BlockPairs;
        return BlockStart(block) + ((long)(column / Bf16MicroKernels.Columns) * Steps(block) + pair % BlockPairs)
            * Bf16MicroKernels.Columns + column % Bf16MicroKernels.Columns;
    }

    /// <summary>op(B)(p, j) = source[p·kStride + j·nStride] for p &lt; k, j &lt; n. A weight W [out, in] packs as
    /// (kStride 1, nStride in) for y = x·Wᵀ and as (kStride in, nStride 1) for dx = dy·W. Padding words are
    /// zero.</summary>
    public static Bf16Panels Pack(ReadOnlySpan<ushort> source, int k, int n, int kStride, int nStride)
    {
        var packed = new Bf16Panels(k, n);
        if ((long)(k - 1) * kStride + (long)(n - 1) * nStride >= source.Length) throw new ArgumentException(
            $"A [{k}, {n}] operand with strides ({kStride}, {nStride}) does not fit in {source.Length} values.");
        // Reads in storage order: along k when k is contiguous (one stored row at a time), else along n.
        if (kStride == 1)
            for (int j = 0; j < n; j++)
                for (int p = 0; p < packed.KPairs; p++) packed.Store(source, 2L * p + (long)j * nStride, 1, p, j);
        else
            for (int p = 0; p < packed.KPairs; p++)
                for (int j = 0; j < n; j++) packed.Store(source, 2L * p * kStride + (long)j * nStride, kStride, p, j);
        return packed;
    }

    /// <summary>op(B)(p, j) = element p of row j, each row given by <paramref name="readRow"/> into a k-long span
    /// (a weight W [n, k] packed for x·Wᵀ one stored row at a time: from float32 rounded as it goes, without a
    /// bfloat16 copy of the whole matrix).</summary>
    public static Bf16Panels PackRows(int k, int n, Action<int, Span<ushort>> readRow)
    {
        var packed = new Bf16Panels(k, n);
        var row = new ushort[2 * packed.KPairs];
        for (int j = 0; j < n; j++)
        {
            readRow(j, row.AsSpan(0, k));
            for (int p = 0; p < packed.KPairs; p++) packed.Store(row, 2 * p, 1, p, j);
        }
        return packed;
    }

    // The word of pair p, column j: source[first] and, unless k ends at it, source[first + kStride].
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Store(ReadOnlySpan<ushort> source, long first, int kStride, int p, int column)
    {
        uint low = source[(int)first], high = 2 * p + 1 < K ? source[(int)(first + kStride)] : 0u;
        _words[Offset(p, column)] = low | high << 16;
    }

    /// <summary>Element (p, j) of op(B) as float32 (exact).</summary>
    public float this[int p, int j]
    {
        get
        {
            uint word = _words[Offset(p / 2, j)];
            return BitConverter.UInt32BitsToSingle(p % 2 == 0 ? word << 16 : word & 0xFFFF0000u);
        }
    }
}
