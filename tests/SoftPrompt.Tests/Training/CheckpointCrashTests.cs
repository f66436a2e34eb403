using SoftPrompt.Engine;
using SoftPrompt.Engine.IO;
using SoftPrompt.Engine.Optim;
using SoftPrompt.Tests.Support;
using SoftPrompt.Training.Checkpoints;
using Xunit;

namespace SoftPrompt.Tests.Training;

/// <summary>Crash points of <see cref="TrainingCheckpoint.Save"/>, laid out on disk as a crash would leave
/// them.</summary>
public sealed class CheckpointCrashTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private string Checkpoint => Path.Combine(_dir.Path, "checkpoint");

    public void Dispose() => _dir.Dispose();

    private static Tensor Weights(float value) => Tensor.FromArray(Enumerable.Repeat(value, 6).ToArray(),
        new[] { 2, 3 }, trainable: true, name: "w");

    private static void Save(string directory, int step, float value = 1f) =>
        TrainingCheckpoint.Save(directory, new[] { Weights(value) }, Array.Empty<IOptimizer>(),
            new TrainingState { Step = step });

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from)) File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
    }

    // The first crash: Save(step) had written DIR.new whole and moved DIR to DIR.old, but not DIR.new to DIR.
    private void CrashBetweenRenames(int oldStep, int newStep)
    {
        Save(Checkpoint, oldStep);
        Save(Checkpoint + "-scratch", newStep, value: newStep);
        CopyDirectory(Checkpoint + "-scratch", Checkpoint + ".new");
        Directory.Move(Checkpoint, Checkpoint + ".old");
    }

    private float[] Load(out TrainingState state)
    {
        var w = Weights(0f);
        state = TrainingCheckpoint.Load(Checkpoint, new[] { w }, Array.Empty<IOptimizer>());
        return w.ToArray();
    }

    [Fact]
    public void After_a_crash_between_the_renames_the_new_copy_is_resumed()
    {
        CrashBetweenRenames(oldStep: 10, newStep: 20);
        Assert.Equal(20f, Load(out var state)[0]);
        Assert.Equal(20, state.Step);
    }

    [Fact]
    public void A_second_crash_while_the_new_copy_is_being_removed_falls_back_to_the_old_whole_one()
    {
        CrashBetweenRenames(oldStep: 10, newStep: 20);
        File.Delete(Path.Combine(Checkpoint + ".new", "tensors.safetensors")); // half deleted, state.json still there
        var search = TrainingCheckpoint.Find(Checkpoint);
        Assert.Equal(Checkpoint + ".old", search.Whole);
        Assert.Contains(search.Rejected, r => r.Contains("tensors.safetensors") && r.Contains("missing"));
        Load(out var state);
        Assert.Equal(10, state.Step);
    }

    [Fact]
    public void The_next_save_finishes_the_interrupted_swap_before_deleting_anything()
    {
        CrashBetweenRenames(oldStep: 10, newStep: 20);
        Save(Checkpoint, 30, value: 30f); // the resumed run's first checkpoint
        Assert.False(Directory.Exists(Checkpoint + ".new"));
        Assert.Equal(30f, Load(out var state)[0]);
        Assert.Equal(30, state.Step);
    }

    [Fact]
    public void Damaged_or_non_finite_checkpoints_are_refused_with_the_file_named()
    {
        Save(Checkpoint, 5);
        string tensors = Path.Combine(Checkpoint, "tensors.safetensors");
        var bytes = File.ReadAllBytes(tensors);
        bytes[^1] ^= 0x5a; // one scrambled byte of data
        File.WriteAllBytes(tensors, bytes);
        var damaged = Assert.Throws<FileNotFoundException>(() => Load(out _));
        Assert.Contains(tensors, damaged.Message);
        Assert.Contains("SHA-256", damaged.Message);

        Save(Checkpoint, 6, value: float.NaN); // whole, but nothing can continue from it
        var nan = Assert.Throws<ModelFormatException>(() => Load(out _));
        Assert.Contains("NaN", nan.Message);

        Save(Checkpoint, 7);
        string state = Path.Combine(Checkpoint, "state.json");
        File.WriteAllText(state, File.ReadAllText(state).Replace("\"Step\": 7", "\"Step\": -5"));
        Assert.Contains("negative", Assert.Throws<FileNotFoundException>(() => Load(out _)).Message);
    }
}
