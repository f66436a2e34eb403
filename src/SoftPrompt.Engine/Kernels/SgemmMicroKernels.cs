using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SoftPrompt.Engine.Kernels;

/// <summary>
/// Register-tiled inner loops of <see cref="Sgemm"/>: C[MR×NR] (+)= A panel (kc × MR, row-interleaved) · B panel
/// (kc × NR). Each keeps the whole C tile in registers for the kc-long loop; each step is one broadcast per A row and
/// NR/width loads of B. Only full tiles: the caller routes partial ones through a scratch tile.
/// </summary>
internal static unsafe class SgemmMicroKernels
{
    // 14×32: 28 zmm accumulators + 2 for the B row + 1 broadcast = 31 of the 32 AVX-512 registers.
    public const int Avx512Rows = 14, Avx512Columns = 32;
    // 6×16: 12 ymm accumulators + 2 + 1 of the 16 AVX2 registers.
    public const int Avx2Rows = 6, Avx2Columns = 16;
    public const int ScalarRows = 4, ScalarColumns = 4;
    public const int MaxTile = Avx512Rows * Avx512Columns;

    public static SgemmKernel Best =>
        Avx512F.IsSupported ? SgemmKernel.Avx512 : Avx2.IsSupported && Fma.IsSupported ? SgemmKernel.Avx2
            : SgemmKernel.Scalar;

    public static bool IsSupported(SgemmKernel kernel) => kernel switch
    {
        SgemmKernel.Avx512 => Avx512F.IsSupported,
        SgemmKernel.Avx2 => Avx2.IsSupported && Fma.IsSupported,
        _ => true,
    };

    public static (int Rows, int Columns) Tile(SgemmKernel kernel) => kernel switch
    {
        SgemmKernel.Avx512 => (Avx512Rows, Avx512Columns),
        SgemmKernel.Avx2 => (Avx2Rows, Avx2Columns),
        _ => (ScalarRows, ScalarColumns),
    };

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Run(SgemmKernel kernel, float* a, float* b, int kc, float* c, int ldc, bool overwrite)
    {
        if (kernel == SgemmKernel.Avx512) Avx512Tile(a, b, kc, c, ldc, overwrite);
        else if (kernel == SgemmKernel.Avx2) Avx2Tile(a, b, kc, c, ldc, overwrite);
        else ScalarTile(a, b, kc, c, ldc, overwrite);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Avx512Tile(float* a, float* b, int kc, float* c, int ldc, bool overwrite)
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default,
            c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default,
            c60 = default, c61 = default, c70 = default, c71 = default, c80 = default, c81 = default,
            c90 = default, c91 = default, cA0 = default, cA1 = default, cB0 = default, cB1 = default,
            cC0 = default, cC1 = default, cD0 = default, cD1 = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector512.Load(b);
            var b1 = Vector512.Load(b + 16);
            Vector512<float> x;
            x = Vector512.Create(a[0]); c00 = Avx512F.FusedMultiplyAdd(x, b0, c00); c01 = Avx512F.FusedMultiplyAdd(x,
                b1, c01);
            x = Vector512.Create(a[1]); c10 = Avx512F.FusedMultiplyAdd(x, b0, c10); c11 = Avx512F.FusedMultiplyAdd(x,
                b1, c11);
            x = Vector512.Create(a[2]); c20 = Avx512F.FusedMultiplyAdd(x, b0, c20); c21 = Avx512F.FusedMultiplyAdd(x,
                b1, c21);
            x = Vector512.Create(a[3]); c30 = Avx512F.FusedMultiplyAdd(x, b0, c30); c31 = Avx512F.FusedMultiplyAdd(x,
                b1, c31);
            x = Vector512.Create(a[4]); c40 = Avx512F.FusedMultiplyAdd(x, b0, c40); c41 = Avx512F.FusedMultiplyAdd(x,
                b1, c41);
            x = Vector512.Create(a[5]); c50 = Avx512F.FusedMultiplyAdd(x, b0, c50); c51 = Avx512F.FusedMultiplyAdd(x,
                b1, c51);
            x = Vector512.Create(a[6]); c60 = Avx512F.FusedMultiplyAdd(x, b0, c60); c61 = Avx512F.FusedMultiplyAdd(x,
                b1, c61);
            x = Vector512.Create(a[7]); c70 = Avx512F.FusedMultiplyAdd(x, b0, c70); c71 = Avx512F.FusedMultiplyAdd(x,
                b1, c71);
            x = Vector512.Create(a[8]); c80 = Avx512F.FusedMultiplyAdd(x, b0, c80); c81 = Avx512F.FusedMultiplyAdd(x,
                b1, c81);
            x = Vector512.Create(a[9]); c90 = Avx512F.FusedMultiplyAdd(x, b0, c90); c91 = Avx512F.FusedMultiplyAdd(x,
                b1, c91);
            x = Vector512.Create(a[10]); cA0 = Avx512F.FusedMultiplyAdd(x, b0, cA0); cA1 = Avx512F.FusedMultiplyAdd(x,
                b1, cA1);
            x = Vector512.Create(a[11]); cB0 = Avx512F.FusedMultiplyAdd(x, b0, cB0); cB1 = Avx512F.FusedMultiplyAdd(x,
                b1, cB1);
            x = Vector512.Create(a[12]); cC0 = Avx512F.FusedMultiplyAdd(x, b0, cC0); cC1 = Avx512F.FusedMultiplyAdd(x,
                b1, cC1);
            x = Vector512.Create(a[13]); cD0 = Avx512F.FusedMultiplyAdd(x, b0, cD0); cD1 = Avx512F.FusedMultiplyAdd(x,
                b1, cD1);
            a += Avx512Rows;
            b += Avx512Columns;
        }
        Store512(c, c00, c01, overwrite); Store512(c + ldc, c10, c11, overwrite);
        Store512(c + 2 * ldc, c20, c21, overwrite); Store512(c + 3 * ldc, c30, c31, overwrite);
        Store512(c + 4 * ldc, c40, c41, overwrite); Store512(c + 5 * ldc, c50, c51, overwrite);
        Store512(c + 6 * ldc, c60, c61, overwrite); Store512(c + 7 * ldc, c70, c71, overwrite);
        Store512(c + 8 * ldc, c80, c81, overwrite); Store512(c + 9 * ldc, c90, c91, overwrite);
        Store512(c + 10 * ldc, cA0, cA1, overwrite); Store512(c + 11 * ldc, cB0, cB1, overwrite);
        Store512(c + 12 * ldc, cC0, cC1, overwrite); Store512(c + 13 * ldc, cD0, cD1, overwrite);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store512(float* c, Vector512<float> left, Vector512<float> right, bool overwrite)
    {
        if (!overwrite)
        {
            left += Vector512.Load(c);
            right += Vector512.Load(c + 16);
        }
        Vector512.Store(left, c);
        Vector512.Store(right, c + 16);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Avx2Tile(float* a, float* b, int kc, float* c, int ldc, bool overwrite)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default,
            c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector256.Load(b);
            var b1 = Vector256.Load(b + 8);
            Vector256<float> x;
            x = Vector256.Create(a[0]); c00 = Fma.MultiplyAdd(x, b0, c00); c01 = Fma.MultiplyAdd(x, b1, c01);
            x = Vector256.Create(a[1]); c10 = Fma.MultiplyAdd(x, b0, c10); c11 = Fma.MultiplyAdd(x, b1, c11);
            x = Vector256.Create(a[2]); c20 = Fma.MultiplyAdd(x, b0, c20); c21 = Fma.MultiplyAdd(x, b1, c21);
            x = Vector256.Create(a[3]); c30 = Fma.MultiplyAdd(x, b0, c30); c31 = Fma.MultiplyAdd(x, b1, c31);
            x = Vector256.Create(a[4]); c40 = Fma.MultiplyAdd(x, b0, c40); c41 = Fma.MultiplyAdd(x, b1, c41);
            x = Vector256.Create(a[5]); c50 = Fma.MultiplyAdd(x, b0, c50); c51 = Fma.MultiplyAdd(x, b1, c51);
            a += Avx2Rows;
            b += Avx2Columns;
        }
        Store256(c, c00, c01, overwrite); Store256(c + ldc, c10, c11, overwrite);
        Store256(c + 2 * ldc, c20, c21, overwrite); Store256(c + 3 * ldc, c30, c31, overwrite);
        Store256(c + 4 * ldc, c40, c41, overwrite); Store256(c + 5 * ldc, c50, c51, overwrite);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store256(float* c, Vector256<float> left, Vector256<float> right, bool overwrite)
    {
        if (!overwrite)
        {
            left += Vector256.Load(c);
            right += Vector256.Load(c + 8);
        }
        Vector256.Store(left, c);
        Vector256.Store(right, c + 8);
    }

    // Portable: any CPU, no vector units assumed. The 16 accumulators are separate locals so they live in registers.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ScalarTile(float* a, float* b, int kc, float* c, int ldc, bool overwrite)
    {
        float c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0,
            c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
        for (int p = 0; p < kc; p++)
        {
            float b0 = b[0], b1 = b[1], b2 = b[2], b3 = b[3], x;
            x = a[0]; c00 += x * b0; c01 += x * b1; c02 += x * b2; c03 += x * b3;
            x = a[1]; c10 += x * b0; c11 += x * b1; c12 += x * b2; c13 += x * b3;
            x = a[2]; c20 += x * b0; c21 += x * b1; c22 += x * b2; c23 += x * b3;
            x = a[3]; c30 += x * b0; c31 += x * b1; c32 += x * b2; c33 += x * b3;
            a += ScalarRows;
            b += ScalarColumns;
        }
        StoreScalarRow(c, c00, c01, c02, c03, overwrite);
        StoreScalarRow(c + ldc, c10, c11, c12, c13, overwrite);
        StoreScalarRow(c + 2 * ldc, c20, c21, c22, c23, overwrite);
        StoreScalarRow(c + 3 * ldc, c30, c31, c32, c33, overwrite);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreScalarRow(float* c, float v0, float v1, float v2, float v3, bool overwrite)
    {
        if (overwrite) { c[0] = v0; c[1] = v1; c[2] = v2; c[3] = v3; }
        else { c[0] += v0; c[1] += v1; c[2] += v2; c[3] += v3; }
    }
}
