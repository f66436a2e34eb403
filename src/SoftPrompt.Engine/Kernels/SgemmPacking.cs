using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SoftPrompt.Engine.Kernels;

/// <summary>
/// Copies blocks of op(A) and op(B) into the panel layouts the microkernels stream through, absorbing transposes.
/// A block (mc × kc) → panels of MR rows, each kc steps of MR contiguous floats; B block (kc × nc) → panels of NR
/// columns, each kc steps of NR contiguous floats. Rows/columns past the matrix edge are zero so edge tiles can run
/// the full-size microkernel.
/// </summary>
internal static unsafe class SgemmPacking
{
    /// <summary>op(A)(i,p) = a[i·aRow + p·aCol]; exactly one of aRow, aCol is 1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackA(float* dst, float* a, long aRow, long aCol, int mc, int kc, int mr)
    {
        for (int ir = 0; ir < mc; ir += mr)
        {
            int height = Math.Min(mr, mc - ir);
            float* panel = dst + (long)ir * kc;
            if (aRow == 1)
            {
                // Stored Aᵀ: row p of storage holds consecutive rows of op(A), so each step is a short contiguous copy.
                for (int p = 0; p < kc; p++)
                {
                    float* from = a + p * aCol + ir;
                    float* to = panel + p * mr;
                    for (int i = 0; i < height; i++) to[i] = from[i];
                    for (int i = height; i < mr; i++) to[i] = 0;
                }
            }
            else if (height == mr && mr >= 8 && Avx.IsSupported)
            {
                // Stored A, full panel: 8×8 register transposes of row groups 0, 8, … and a last group ending at row
                // mr (overlapping the previous one when mr is not a multiple of 8 — it rewrites the same values).
                int vectorSteps = kc / 8 * 8;
                for (int i0 = 0; ; i0 = Math.Min(i0 + 8, mr - 8))
                {
                    float* rows = a + (ir + i0) * aRow;
                    for (int p0 = 0; p0 < vectorSteps; p0 += 8) Transpose8x8(rows + p0, aRow, panel + p0 * mr + i0, mr);
                    if (i0 == mr - 8) break;
                }
                for (int i = 0; i < mr; i++)
                {
                    float* row = a + (ir + i) * aRow;
                    for (int p = vectorSteps; p < kc; p++) panel[p * mr + i] = row[p];
                }
            }
            else
            {
                // Stored A, partial panel or narrow tile: interleave the rows one value at a time.
                for (int i = 0; i < mr; i++)
                {
                    float* to = panel + i;
                    if (i >= height) { for (int p = 0; p < kc; p++) to[p * mr] = 0; continue; }
                    float* row = a + (ir + i) * aRow;
                    for (int p = 0; p < kc; p++) to[p * mr] = row[p];
                }
            }
        }
    }

    /// <summary>
    /// Floats from one packed B panel to the next: kc·NR plus one cache line, so that panels are not a power-of-two
    /// apart (packing writes several panels at once, and same-set addresses would evict each other from L1).
    /// </summary>
    public static int BPanelStride(int kc, int nr) => kc * nr + 16;

    /// <summary>op(B)(p,j) = b[p·bRow + j·bCol]; exactly one of bRow, bCol is 1. Panel q starts at
    /// q·BPanelStride.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackB(float* dst, float* b, long bRow, long bCol, int kc, int nc, int nr)
    {
        if (bCol == 1) CopyRows(dst, b, bRow, kc, nc, nr);
        else
            for (int jr = 0; jr < nc; jr += nr)
                TransposeColumns(dst + (long)(jr / nr) * BPanelStride(kc, nr), b + jr * bCol, bCol, kc,
                    Math.Min(nr, nc - jr), nr);
    }

    // Stored B [k,n]: each step of a panel is a slice of one row. A few rows at a time are spread over all the
    // panels: the reads stay sequential within L1, and the writes land in runs of several steps rather than one
    // step per panel.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void CopyRows(float* dst, float* b, long bRow, int kc, int nc, int nr)
    {
        const int RowsAtOnce = 8;
        int fullPanels = nr % 8 == 0 ? nc / nr : 0, panelStride = BPanelStride(kc, nr);
        for (int p0 = 0; p0 < kc; p0 += RowsAtOnce)
        {
            int pEnd = Math.Min(kc, p0 + RowsAtOnce);
            for (int panel = 0; panel < fullPanels; panel++)
            {
                float* to = dst + (long)panel * panelStride;
                for (int p = p0; p < pEnd; p++)
                {
                    float* from = b + p * bRow + panel * nr;
                    for (int j = 0; j < nr; j += 8) Vector256.Store(Vector256.Load(from + j), to + p * nr + j);
                }
            }
            for (int jr = fullPanels * nr; jr < nc; jr += nr)
            {
                int width = Math.Min(nr, nc - jr);
                for (int p = p0; p < pEnd; p++)
                {
                    float* from = b + p * bRow + jr, to = dst + (long)(jr / nr) * panelStride + p * nr;
                    for (int j = 0; j < width; j++) to[j] = from[j];
                    for (int j = width; j < nr; j++) to[j] = 0;
                }
            }
        }
    }

    // Stored Bᵀ [n,k]: column j of op(B) is contiguous. Transposing 8×8 blocks in registers keeps both the reads
    // (8 floats along a stored row) and the writes (8 floats of a panel step) vector-wide; each block of 8 stored
    // rows is walked along all of kc so the reads are 8 sequential streams.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void TransposeColumns(float* panel, float* b, long bCol, int kc, int width, int nr)
    {
        int fullGroups = Avx.IsSupported ? width / 8 : 0, vectorSteps = kc / 8 * 8;
        for (int g = 0; g < fullGroups; g++)
            for (int p0 = 0; p0 < vectorSteps; p0 += 8)
                Transpose8x8(b + g * 8 * bCol + p0, bCol, panel + p0 * nr + g * 8, nr);
        // Leftovers: the last (kc mod 8) steps of the vector-transposed columns, and every step of the others.
        for (int j = 0; j < nr; j++)
        {
            float* to = panel + j;
            int pStart = j < fullGroups * 8 ? vectorSteps : 0;
            if (j >= width) { for (int p = pStart; p < kc; p++) to[p * nr] = 0; continue; }
            float* column = b + j * bCol;
            for (int p = pStart; p < kc; p++) to[p * nr] = column[p];
        }
    }

    // dst[q·dstStride + r] = src[r·srcStride + q] for r, q in [0, 8).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8x8(float* src, long srcStride, float* dst, int dstStride)
    {
        var r0 = Avx.LoadVector256(src); var r1 = Avx.LoadVector256(src + srcStride);
        var r2 = Avx.LoadVector256(src + 2 * srcStride); var r3 = Avx.LoadVector256(src + 3 * srcStride);
        var r4 = Avx.LoadVector256(src + 4 * srcStride); var r5 = Avx.LoadVector256(src + 5 * srcStride);
        var r6 = Avx.LoadVector256(src + 6 * srcStride); var r7 = Avx.LoadVector256(src + 7 * srcStride);
        // Pairs of rows interleaved, then quadruples, then the 128-bit halves exchanged.
        var t0 = Avx.UnpackLow(r0, r1); var t1 = Avx.UnpackHigh(r0, r1);
        var t2 = Avx.UnpackLow(r2, r3); var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5); var t5 = Avx.UnpackHigh(r4, r5);
        var t6 = Avx.UnpackLow(r6, r7); var t7 = Avx.UnpackHigh(r6, r7);
        var u0 = Avx.Shuffle(t0, t2, 0x44); var u1 = Avx.Shuffle(t0, t2, 0xEE);
        var u2 = Avx.Shuffle(t1, t3, 0x44); var u3 = Avx.Shuffle(t1, t3, 0xEE);
        var u4 = Avx.Shuffle(t4, t6, 0x44); var u5 = Avx.Shuffle(t4, t6, 0xEE);
        var u6 = Avx.Shuffle(t5, t7, 0x44); var u7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Store(dst, Avx.Permute2x128(u0, u4, 0x20));
        Avx.Store(dst + dstStride, Avx.Permute2x128(u1, u5, 0x20));
        Avx.Store(dst + 2 * dstStride, Avx.Permute2x128(u2, u6, 0x20));
        Avx.Store(dst + 3 * dstStride, Avx.Permute2x128(u3, u7, 0x20));
        Avx.Store(dst + 4 * dstStride, Avx.Permute2x128(u0, u4, 0x31));
        Avx.Store(dst + 5 * dstStride, Avx.Permute2x128(u1, u5, 0x31));
        Avx.Store(dst + 6 * dstStride, Avx.Permute2x128(u2, u6, 0x31));
        Avx.Store(dst + 7 * dstStride, Avx.Permute2x128(u3, u7, 0x31));
    }
}
