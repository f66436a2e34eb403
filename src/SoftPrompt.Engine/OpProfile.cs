using System.Diagnostics;

namespace SoftPrompt.Engine;

/// <summary>
/// Where a training step's time goes, per op, forward and backward, measured by the tape itself: an op's forward time
/// is the time since the previous op recorded, its backward time the run of its backward step. Named after the Fn
/// method that recorded the step. Off unless <see cref="Enabled"/>; costs one timestamp per op when on.
/// </summary>
public static class OpProfile
{
    private static readonly Dictionary<string, (double Forward, double Backward, long Calls)> Totals = new();
    private static long _lastRecord;

    public static bool Enabled { get; set; } = Environment.GetEnvironmentVariable("SOFTPROMPT_PROFILE") == "1";

    public static void Reset()
    {
        lock (Totals) Totals.Clear();
        _lastRecord = Stopwatch.GetTimestamp();
    }

    internal static void MarkStart() => _lastRecord = Stopwatch.GetTimestamp();

    internal static void Forward(Delegate op)
    {
        long now = Stopwatch.GetTimestamp();
        Add(NameOf(op), Stopwatch.GetElapsedTime(_lastRecord, now).TotalMilliseconds, 0, 1);
        _lastRecord = now;
    }

    internal static void Backward(Delegate op, long start) =>
        Add(NameOf(op), 0, Stopwatch.GetElapsedTime(start).TotalMilliseconds, 0);

    private static void Add(string name, double forward, double backward, long calls)
    {
        lock (Totals)
        {
            var t = Totals.GetValueOrDefault(name);
            Totals[name] = (t.Forward + forward, t.Backward + backward, t.Calls + calls);
        }
    }

    // Closures are compiled as "<Linear>b__0" inside Fn: the part in angle brackets is the op.
    private static string NameOf(Delegate op)
    {
        string name = op.Method.Name;
        int open = name.IndexOf('<'), close = name.IndexOf('>');
        return open >= 0 && close > open ? name[(open + 1)..close] : name;
    }

    /// <summary>Per op: total forward and backward milliseconds and calls, largest first.</summary>
    public static IReadOnlyList<(string Op, double ForwardMs, double BackwardMs, long Calls)> Snapshot()
    {
        lock (Totals)
            return Totals.Select(kv => (kv.Key, kv.Value.Forward, kv.Value.Backward, kv.Value.Calls))
                .OrderByDescending(t => t.Forward + t.Backward).ToList();
    }
}
