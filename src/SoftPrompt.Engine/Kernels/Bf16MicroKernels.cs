using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace SoftPrompt.Engine.Kernels;

/// <summary>
/// The bfloat16 microkernels (<see cref="Bf16MicroKernelCode"/>, written in assembly by tools/make_bf16_kernels.py):
/// C[MR×32] (+)= A panel · B panel with AVX512_BF16's vdpbf16ps, which .NET has no intrinsic for. At first use their
/// bytes are copied into a page mapped executable; they are then called through unmanaged function pointers. Only on
/// x86-64 Linux (the System V calling convention the code is written for) with AVX512_BF16 in the CPU, and where the
/// system lets a process map a page executable; elsewhere <see cref="IsSupported"/> is false and bfloat16 weights are
/// widened to float32 for each product instead.
/// </summary>
internal static unsafe class Bf16MicroKernels
{
    public const int Columns = 32;
    public const int Rows = 14, FewRows = 4;

    private static int _fewRowsOffset;
    // The kernels' page, mapped when this class is first used; 0 where they cannot run.
    private static readonly nint Code = CpuRunsThem() ? TryMapCode() : 0;

    public static bool IsSupported => Code != 0;

    // CPUID leaf 7 subleaf 1, EAX bit 5: AVX512_BF16. Avx512F.IsSupported also says the OS saves the 512-bit registers.
    private static bool CpuRunsThem() => RuntimeInformation.ProcessArchitecture == Architecture.X64
        && OperatingSystem.IsLinux() && Avx512F.IsSupported && Avx512BW.IsSupported
        && (X86Base.CpuId(7, 1).Eax & (1 << 5)) != 0;

    /// <summary>C[rows×32] (+)= A (kPairs × rows dwords) · B (kPairs × 32 dwords); rows is <see cref="Rows"/> or
    /// <see cref="FewRows"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Run(int rows, uint* a, uint* b, int kPairs, float* c, int ldc, bool accumulate)
    {
        nint code = Code + (rows == Rows ? 0 : _fewRowsOffset);
        ((delegate* unmanaged[Cdecl, SuppressGCTransition]<uint*, uint*, long, float*, long, long, void>)code)(
            a, b, kPairs, c, ldc, accumulate ? 1 : 0);
    }

    private const int ProtRead = 1, ProtWrite = 2, ProtExec = 4, MapPrivate = 0x02, MapAnonymous = 0x20;

    [DllImport("libc", EntryPoint = "mmap", SetLastError = true)]
    private static extern nint MapMemory(nint address, nuint length, int protection, int flags, int fd, nint offset);

    [DllImport("libc", EntryPoint = "mprotect", SetLastError = true)]
    private static extern int Protect(nint address, nuint length, int protection);

    // Both kernels on one page (or a few), written while writable, then made read-only and executable (never both
    // writable and executable). Kept for the life of the process. 0 when the system refuses (no libc, a policy
    // against executable mappings): the float32 path then serves.
    private static nint TryMapCode()
    {
        try { return MapCode(); }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException
            or InvalidOperationException) { return 0; }
    }

    private static nint MapCode()
    {
        byte[] main = Bf16MicroKernelCode.Tile14x32, few = Bf16MicroKernelCode.Tile4x32;
        int fewOffset = (main.Length + 63) / 64 * 64;
        nuint length = (nuint)((fewOffset + few.Length + 4095) / 4096 * 4096);
        nint page = MapMemory(0, length, ProtRead | ProtWrite, MapPrivate | MapAnonymous, -1, 0);
        if (page == -1) throw new InvalidOperationException(
            $"Could not map memory for the bfloat16 kernels (errno {Marshal.GetLastPInvokeError()}).");
        main.CopyTo(new Span<byte>((void*)page, main.Length));
        few.CopyTo(new Span<byte>((void*)(page + fewOffset), few.Length));
        if (Protect(page, length, ProtRead | ProtExec) != 0) throw new InvalidOperationException(
            $"Could not make the bfloat16 kernels executable (errno {Marshal.GetLastPInvokeError()}).");
        _fewRowsOffset = fewOffset;
        return page;
    }
}
