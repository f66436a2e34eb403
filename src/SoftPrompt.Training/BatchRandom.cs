namespace SoftPrompt.Training;

/// <summary>
/// The random stream that draws one micro-batch, the same on every run and after every resume. Micro-batches are
/// numbered through the run (step × micro-batches per step + micro), so no two of one run share a stream, whatever
/// the accumulation (numbering them step × 64 + micro made step s's 65th micro-batch replay step s + 1's first).
/// Not HashCode.Combine: its seed changes per process, and a resumed run must draw the same batches.
/// </summary>
public static class BatchRandom
{
    public static Random For(int seed, long step, int micro = 0, int microBatchesPerStep = 1)
    {
        if (micro < 0 || micro >= microBatchesPerStep)
            throw new ArgumentOutOfRangeException(nameof(micro), $"micro-batch {micro} of {microBatchesPerStep}");
        return new Random((int)((seed * 1_000_003L + step * microBatchesPerStep + micro) & int.MaxValue));
    }
}
