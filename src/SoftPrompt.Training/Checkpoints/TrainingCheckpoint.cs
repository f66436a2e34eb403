using System.Text.Json;
using SoftPrompt.Engine;
using SoftPrompt.Engine.IO;
using SoftPrompt.Engine.Optim;

namespace SoftPrompt.Training.Checkpoints;

/// <summary>Where a run stands: enough, with the tensors and optimizer moments, to continue it exactly.</summary>
public sealed record TrainingState
{
    public int Step { get; init; }
    public long TokensSeen { get; init; }
    public float BestValidationLoss { get; init; } = float.PositiveInfinity;
    public int BestStep { get; init; } = -1;
    /// <summary>Best value of a higher-is-better metric (accuracy), for runs selected by one.</summary>
    public double BestScore { get; init; } = double.NegativeInfinity;
    public int EvaluationsWithoutImprovement { get; init; }
    public int Seed { get; init; }
    /// <summary>The options the run was started with, so a resume can refuse a changed setup.</summary>
    public string Fingerprint { get; init; } = "";
    /// <summary>SHA-256 of each tensor file, written last (in state.json): a checkpoint is whole when they
    /// match.</summary>
    public Dictionary<string, string>? Checksums { get; init; }
}

/// <summary>The newest whole checkpoint of a directory (null when there is none), and why other copies were passed
/// over.</summary>
public sealed record CheckpointSearch(string? Whole, TrainingState? State, IReadOnlyList<string> Rejected);

/// <summary>
/// A checkpoint directory: tensors.safetensors (the trained tensors), optimizer.safetensors (each optimizer's state per
/// tensor) and state.json, written last with the two files' SHA-256. A new checkpoint is written beside the old one
/// (DIR.new) and swapped in by renames (DIR → DIR.old, DIR.new → DIR); a copy counts only when its checksums match,
/// and the next save first finishes a swap a crash interrupted, so at any crash point — a second one during the
/// resumed run's cleanup included — the newest whole copy is found and none is deleted while it is the only one.
/// </summary>
public static class TrainingCheckpoint
{
    private const string TensorsFile = "tensors.safetensors", OptimizerFile = "optimizer.safetensors",
        StateFile = "state.json";

    public static bool Exists(string directory) => Find(directory).Whole is not null;

    /// <summary>Of DIR, DIR.new and DIR.old, the whole copy with the highest step.</summary>
    public static CheckpointSearch Find(string directory)
    {
        var rejected = new List<string>();
        (string Path, TrainingState State)? best = null;
        foreach (var candidate in new[] { directory, directory + ".new", directory + ".old" })
        {
            if (!Directory.Exists(candidate)) continue;
            if (Verify(candidate) is not { } state) continue;
            if (state.Problem is not null) { rejected.Add(state.Problem); continue; }
            if (best is null || state.State!.Step > best.Value.State.Step) best = (candidate, state.State!);
        }
        return new CheckpointSearch(best?.Path, best?.State, rejected);
    }

    // A copy with no state.json is one being written (or deleted): not a candidate, not a problem.
    private static (TrainingState? State, string? Problem)? Verify(string candidate)
    {
        string statePath = Path.Combine(candidate, StateFile);
        if (!File.Exists(statePath)) return null;
        TrainingState state;
        try { state = ReadState(statePath); }
        catch (ModelFormatException e) { return (null, e.Message); }
        if (state.Step < 0) return (null, $"{statePath}: step {state.Step} is negative.");
        foreach (var file in new[] { TensorsFile, OptimizerFile })
        {
            string path = Path.Combine(candidate, file);
            if (!File.Exists(path)) return (null, $"{path}: missing (the copy is incomplete).");
            if (state.Checksums is { } sums && (!sums.TryGetValue(file, out var expected)
                || expected != FileHash.Sha256(path)))
                return (null,
                    $"{path}: its SHA-256 does not match the one state.json recorded (the file is damaged or " +
                    $"incomplete).");
        }
        return (state, null);
    }

    private static TrainingState ReadState(string statePath)
    {
        using var doc = JsonFile.Load(statePath);
        try { return doc.Deserialize<TrainingState>(JsonOptions) ?? throw new ModelFormatException(statePath,
            "the state is empty."); }
        catch (JsonException e) { throw new ModelFormatException(statePath, $"not a training state ({e.Message}).",
            e); }
    }

    public static void Save(string directory, IReadOnlyList<Tensor> tensors, IReadOnlyList<IOptimizer> optimizers,
        TrainingState state)
    {
        string incoming = directory + ".new", outgoing = directory + ".old";
        FinishInterruptedSwap(directory);
        if (Directory.Exists(incoming)) Directory.Delete(incoming, recursive: true);
        Directory.CreateDirectory(incoming);
        SafeTensorsWriter.Write(Path.Combine(incoming, TensorsFile), tensors);
        SafeTensorsWriter.Write(Path.Combine(incoming, OptimizerFile), OptimizerTensors(optimizers));
        var checksums = new Dictionary<string, string>
        {
            [TensorsFile] = FileHash.Sha256(Path.Combine(incoming, TensorsFile)),
            [OptimizerFile] = FileHash.Sha256(Path.Combine(incoming, OptimizerFile)),
        };
        WriteDurably(Path.Combine(incoming, StateFile),
            JsonSerializer.SerializeToUtf8Bytes(state with { Checksums = checksums }, JsonOptions));

        // The new checkpoint is whole before anything old is touched; each step below leaves a loadable state.
        if (Directory.Exists(directory))
        {
            if (Directory.Exists(outgoing)) Directory.Delete(outgoing, recursive: true);
            Directory.Move(directory, outgoing);
        }
        Directory.Move(incoming, directory);
        if (Directory.Exists(outgoing)) Directory.Delete(outgoing, recursive: true);
    }

    // A crash between Save's renames leaves DIR.new whole and newer than DIR (or DIR gone): the swap is completed
    // before anything is deleted, so the copy a resumed run started from is never the one being cleared away.
    private static void FinishInterruptedSwap(string directory)
    {
        string incoming = directory + ".new", outgoing = directory + ".old";
        if (!Directory.Exists(incoming) || Verify(incoming) is not { Problem: null, State: { } fresh }) return;
        if (Directory.Exists(directory))
        {
            if (Verify(directory) is { Problem: null, State: { } current } && current.Step >= fresh.Step) return;
            if (Directory.Exists(outgoing)) Directory.Delete(outgoing, recursive: true);
            Directory.Move(directory, outgoing);
        }
        Directory.Move(incoming, directory);
    }

    /// <summary>Restores tensors (by name) and optimizer moments from the newest whole copy, and returns the saved
    /// state. Values that are not finite are refused with the file named: resuming from them could only give
    /// NaN.</summary>
    public static TrainingState Load(string directory, IReadOnlyList<Tensor> tensors,
        IReadOnlyList<IOptimizer> optimizers) =>
        Load(Find(directory), directory, tensors, optimizers);

    /// <summary>As above, from a <see cref="Find"/> the caller already made (the files are hashed once).</summary>
    public static TrainingState Load(CheckpointSearch found, string directory, IReadOnlyList<Tensor> tensors,
        IReadOnlyList<IOptimizer> optimizers)
    {
        if (found.Whole is null)
            throw new FileNotFoundException($"No whole checkpoint in {directory}" + (found.Rejected.Count == 0 ? "."
                : ": " + string.Join(" ", found.Rejected)));
        directory = found.Whole;
        var state = found.State!;
        string tensorsPath = Path.Combine(directory, TensorsFile), optimizerPath = Path.Combine(directory,
            OptimizerFile);
        var saved = SafeTensorsFile.Open(tensorsPath);
        foreach (var t in tensors)
        {
            saved.ReadFloat32(RequireName(t), t.Span, t.Shape);
            RequireFinite(tensorsPath, t.Name!, t.Span);
        }
        var moments = SafeTensorsFile.Open(optimizerPath);
        for (int o = 0; o < optimizers.Count; o++)
        {
            foreach (var (name, values) in optimizers[o].State())
            {
                moments.ReadFloat32($"{o}.{name}", values);
                RequireFinite(optimizerPath, $"{o}.{name}", values);
            }
            optimizers[o].RestoreStep(state.Step);
        }
        return state with { Checksums = null };
    }

    private static void RequireFinite(string path, string name, ReadOnlySpan<float> values)
    {
        for (int i = 0; i < values.Length; i++)
            if (!float.IsFinite(values[i]))
                throw new ModelFormatException(path,
                    $"tensor \"{name}\" holds {values[i]} at element {i}; a run cannot continue from it.");
    }

    private static IEnumerable<(string, int[], ReadOnlyMemory<float>)> OptimizerTensors(
        IReadOnlyList<IOptimizer> optimizers)
    {
        for (int o = 0; o < optimizers.Count; o++)
            foreach (var (name, values) in optimizers[o].State())
                yield return ($"{o}.{name}", new[] { values.Length }, values);
    }

    private static string RequireName(Tensor t) => t.Name ?? throw new ArgumentException(
        $"A trained tensor of shape [{string.Join(", ", t.Shape)}] has no name to checkpoint it under.");

    /// <summary>Writes a small file so it is complete on disk before anything refers to it.</summary>
    public static void WriteDurably(string path, ReadOnlySpan<byte> bytes)
    {
        string temporary = path + ".tmp";
        using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            stream.Write(bytes);
            stream.Flush(flushToDisk: true);
        }
        File.Move(temporary, path, overwrite: true);
    }

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };
}
