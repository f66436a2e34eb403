namespace SoftPrompt.Engine;

/// <summary>Process-wide trades of memory for speed, for commands that put memory first.</summary>
public static class MemoryOptions
{
    /// <summary>
    /// Bytes of bfloat16 input-gradient operands (dy·W's packed W) kept across all frozen weights: by default 256 MiB,
    /// all of GPT-2 small's; past it, or at 0, each is rebuilt for its backward product into one buffer per thread
    /// (a pass over the weight, about 1 ns a value), so training holds about 2 bytes a frozen value.
    /// </summary>
    public static long KeptInputGradientBytes
    {
        get => Kernels.Bf16Weight.InputGradientBudgetBytes;
        set => Kernels.Bf16Weight.InputGradientBudgetBytes = value >= 0 ? value
            : throw new ArgumentOutOfRangeException(nameof(value), "A byte budget cannot be negative.");
    }
}
