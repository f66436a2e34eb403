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
}

/// <summary>
/// A checkpoint directory: tensors.safetensors (the trained tensors), optimizer.safetensors (each optimizer's state per
/// tensor) and state.json. A new checkpoint is written beside the old one and swapped in by renames, so a crash at
/// any moment leaves either the old or the new checkpoint whole, never a mix.
/// </summary>
public static class TrainingCheckpoint
{
    private const string TensorsFile = "tensors.safetensors", OptimizerFile = "optimizer.safetensors", StateFile = "state.json";

    public static bool Exists(string directory) => Complete(directory) is not null;

    // The newest whole checkpoint: the directory itself; else, after a crash between Save's renames, the new one (its
    // state.json is written last, so its presence means the rest is complete); else the previous one.
    private static string? Complete(string directory) =>
        new[] { directory, directory + ".new", directory + ".old" }.FirstOrDefault(d => File.Exists(Path.Combine(d, StateFile)));

    public static void Save(string directory, IReadOnlyList<Tensor> tensors, IReadOnlyList<IOptimizer> optimizers, TrainingState state)
    {
        string incoming = directory + ".new", outgoing = directory + ".old";
        if (Directory.Exists(incoming)) Directory.Delete(incoming, recursive: true);
        Directory.CreateDirectory(incoming);
        SafeTensorsWriter.Write(Path.Combine(incoming, TensorsFile), tensors);
        SafeTensorsWriter.Write(Path.Combine(incoming, OptimizerFile), OptimizerTensors(optimizers));
        WriteDurably(Path.Combine(incoming, StateFile), JsonSerializer.SerializeToUtf8Bytes(state, JsonOptions));

        // The new checkpoint is whole before anything old is touched; each step below leaves a loadable state.
        if (Directory.Exists(directory))
        {
            if (Directory.Exists(outgoing)) Directory.Delete(outgoing, recursive: true);
            Directory.Move(directory, outgoing);
        }
        Directory.Move(incoming, directory);
        if (Directory.Exists(outgoing)) Directory.Delete(outgoing, recursive: true);
    }

    /// <summary>Restores tensors (by name) and optimizer moments, and returns the saved state.</summary>
    public static TrainingState Load(string directory, IReadOnlyList<Tensor> tensors, IReadOnlyList<IOptimizer> optimizers)
    {
        directory = Complete(directory) ?? throw new FileNotFoundException($"No checkpoint in {directory} (no {StateFile}).");
        string statePath = Path.Combine(directory, StateFile);
        TrainingState state;
        using (var doc = JsonFile.Load(statePath))
        {
            try { state = doc.Deserialize<TrainingState>(JsonOptions) ?? throw new ModelFormatException(statePath, "the state is empty."); }
            catch (JsonException e) { throw new ModelFormatException(statePath, $"not a training state ({e.Message}).", e); }
        }
        var saved = SafeTensorsFile.Open(Path.Combine(directory, TensorsFile));
        foreach (var t in tensors) saved.ReadFloat32(RequireName(t), t.Span, t.Shape);
        var moments = SafeTensorsFile.Open(Path.Combine(directory, OptimizerFile));
        for (int o = 0; o < optimizers.Count; o++)
        {
            foreach (var (name, values) in optimizers[o].State()) moments.ReadFloat32($"{o}.{name}", values);
            optimizers[o].RestoreStep(state.Step);
        }
        return state;
    }

    private static IEnumerable<(string, int[], ReadOnlyMemory<float>)> OptimizerTensors(IReadOnlyList<IOptimizer> optimizers)
    {
        for (int o = 0; o < optimizers.Count; o++)
            foreach (var (name, values) in optimizers[o].State())
                yield return ($"{o}.{name}", new[] { values.Length }, values);
    }

    private static string RequireName(Tensor t) => t.Name ?? throw new ArgumentException($"A trained tensor of shape [{string.Join(", ", t.Shape)}] has no name to checkpoint it under.");

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
