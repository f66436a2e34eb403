using System.Diagnostics;
using System.Text.Json;
using SoftPrompt.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace SoftPrompt.Tests.Robustness;

/// <summary>
/// `softprompt tune` killed with SIGKILL at random moments and resumed each time ends with exactly the adapter an
/// uninterrupted run with the same seed writes: no torn checkpoint, no lost or repeated step.
/// </summary>
public class KillAndResumeTests(ITestOutputHelper output)
{
    private static string Cli => Path.Combine(AppContext.BaseDirectory, "softprompt.dll");

    private static void WriteTask(string dir)
    {
        var rng = new Random(5);
        string[] good = { "Lovely tea, fresh and fragrant.", "The best cookies I have had.",
            "Great coffee, smooth and rich." };
        string[] bad = { "Stale and bland.", "The box arrived broken.", "Too sweet, would not buy again." };
        File.Copy(RepositoryData.Find("tasks/food-reviews/task.json"), Path.Combine(dir, "food-reviews", "task.json"));
        foreach (var split in new[] { "train", "validation", "test" })
            File.WriteAllLines(Path.Combine(dir, "food-reviews", split + ".jsonl"), Enumerable.Range(0, 12).Select(i =>
                JsonSerializer.Serialize(new { label = i % 2 == 0 ? "great" : "other",
                    text = (i % 2 == 0 ? good : bad)[rng.Next(3)] })));
    }

    private Process Start(string data, string output)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Cli, "tune", "--model", SharedModels.TinyStoriesPath, "--task", "food-reviews",
            "--data", data,
                     "--out", output, "--steps", "150", "--batch", "2", "--eval-every", "10", "--checkpoint-every", "3",
                     "--prompt-length", "3", "--threads", "1", "--seed", "4", "--resume" })
            start.ArgumentList.Add(a);
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    [Fact]
    public void Killed_and_resumed_tuning_ends_bit_identical_to_an_uninterrupted_run()
    {
        using var dir = new TempDirectory();
        Directory.CreateDirectory(Path.Combine(dir.Path, "food-reviews"));
        WriteTask(dir.Path);

        var clock = Stopwatch.StartNew();
        using (var straight = Start(dir.Path, dir.File("straight")))
        {
            Assert.True(straight.WaitForExit(300_000), "the uninterrupted run did not finish");
            Assert.Equal(0, straight.ExitCode);
        }
        // Kill points are drawn within the uninterrupted run's own duration, so they land mid-run on fast and slow
        // machines.
        int duration = (int)clock.ElapsedMilliseconds;
        var expected = File.ReadAllBytes(Path.Combine(dir.File("straight"), "adapter_model.safetensors"));

        var rng = new Random(9);
        int kills = 0, runs = 0;
        while (true)
        {
            runs++;
            using var process = Start(dir.Path, dir.File("killed"));
            // Early in the run (5–35% of an uninterrupted run's time), so a busy machine's slower or faster run still
            // gets killed before it ends.
            if (kills < 3 && !process.WaitForExit(duration / 20 + rng.Next(duration * 3 / 10)))
            {
                process.Kill(entireProcessTree: true); // SIGKILL: no chance to clean up
                process.WaitForExit();
                kills++;
                continue;
            }
            Assert.True(process.WaitForExit(300_000), "a resumed run did not finish");
            if (process.ExitCode == 0) break;
            Assert.Fail($"run {runs} exited with {process.ExitCode}");
        }
        output.WriteLine($"{kills} kills, {runs} runs");
        Assert.True(kills >= 1, "the run finished before any kill; the test proved nothing");
        Assert.Equal(expected, File.ReadAllBytes(Path.Combine(dir.File("killed"), "adapter_model.safetensors")));
    }
}
