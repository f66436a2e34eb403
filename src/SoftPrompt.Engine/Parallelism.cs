namespace SoftPrompt.Engine;

/// <summary>How many threads the engine's kernels use. Nested parallel regions run serially, so 2 cores never see 4 threads.</summary>
public static class Parallelism
{
    private static int _threads = Math.Max(1, Environment.ProcessorCount);
    [ThreadStatic] private static bool _insideParallelRegion;

    public static int Threads
    {
        get => _threads;
        set => _threads = Math.Max(1, value);
    }

    /// <summary>Runs body(i) for i in [0, count) over up to <see cref="Threads"/> threads.</summary>
    public static void For(int count, Action<int> body)
    {
        if (count <= 1 || _threads == 1 || _insideParallelRegion)
        {
            for (int i = 0; i < count; i++) body(i);
            return;
        }
        Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = _threads }, i =>
        {
            bool outer = _insideParallelRegion;
            _insideParallelRegion = true;
            try { body(i); }
            finally { _insideParallelRegion = outer; }
        });
    }

    /// <summary>
    /// Runs part(start, count) over [0, length) in one contiguous part per thread (starts on 64-element boundaries),
    /// or as one part when length is below <paramref name="parallelFrom"/>: memory-bound elementwise work over large
    /// arrays. Elementwise results do not depend on where the parts fall.
    /// </summary>
    public static void ForParts(int length, int parallelFrom, Action<int, int> part)
    {
        int threads = length < parallelFrom ? 1 : _threads;
        if (threads <= 1 || _insideParallelRegion) { part(0, length); return; }
        int size = (length / threads + 63) / 64 * 64;
        For(threads, t =>
        {
            int start = Math.Min(length, t * size), end = t == threads - 1 ? length : Math.Min(length, start + size);
            if (end > start) part(start, end - start);
        });
    }
}
