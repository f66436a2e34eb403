namespace SoftPrompt.Engine;

/// <summary>What this CPU lets the engine do, for commands choosing their defaults.</summary>
public static class HardwareSupport
{
    /// <summary>Products through bfloat16 weights run in bfloat16 (AVX512_BF16 on x86-64 Linux); elsewhere such
    /// weights are widened to float32 for each product.</summary>
    public static bool Bf16Products => Kernels.Bf16MicroKernels.IsSupported;
}
