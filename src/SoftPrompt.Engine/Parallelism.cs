namespace SoftPrompt.Engine;

/// <summary>How many threads the engine's kernels use. Nested parallel regions run serially, so 2 cores never see 4
/// threads.</summary>
public static class Parallelism
{
    private static int _threads = Math.Max(1, Environment.ProcessorCount);
    [ThreadStatic] private static bool _insideParallelRegion;
    [ThreadStatic] private static int _threadsOnThisThread; // 0: the process-wide count

    /// <summary>The process-wide thread count (a command's --threads), or the count a <see cref="OnThisThread"/> scope
    /// set for the calling thread.</summary>
    public static int Threads
    {
        get => _threadsOnThisThread > 0 ? _threadsOnThisThread : _threads;
        set => _threads = Math.Max(1, value);
    }

    /// <summary>
    /// Work started on the calling thread uses <paramref name="threads"/> until the scope is disposed; other threads
    /// keep the process-wide count. Setting <see cref="Threads"/> instead would change the sums of every computation
    /// running beside it (tests run in parallel, and a reduction's order follows its thread count).
    /// </summary>
    public static ThreadCountScope OnThisThread(int threads) => new(threads);

    public readonly struct ThreadCountScope : IDisposable
    {
        private readonly int _previous;

        internal ThreadCountScope(int threads)
        {
            _previous = _threadsOnThisThread;
            _threadsOnThisThread = Math.Max(1, threads);
        }

        public void Dispose() => _threadsOnThisThread = _previous;
    }

    /// <summary>Runs body(i) for i in [0, count) over up to <see cref="Threads"/> threads.</summary>
    public static void For(int count, Action<int> body)
    {
        int threads = Threads;
        if (count <= 1 || threads == 1 || _insideParallelRegion)
        {
            for (int i = 0; i < count; i++) body(i);
            return;
        }
        Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = threads }, i =>
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
        int threads = length < parallelFrom ? 1 : Threads;
        if (threads <= 1 || _insideParallelRegion) { part(0, length); return; }
        int size = (length / threads + 63) / 64 * 64;
        For(threads, t =>
        {
            int start = Math.Min(length, t * size), end = t == threads - 1 ? length : Math.Min(length, start + size);
            if (end > start) part(start, end - start);
        });
    }
}
