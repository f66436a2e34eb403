using System.Diagnostics;
using System.Text.Json;
using SoftPrompt.Tests.Support;
using SoftPrompt.Tuning.PromptTuning;
using Xunit;

namespace SoftPrompt.Tests.Cli;

/// <summary>`softprompt tune --task a,b` as a process: one adapter per task, each recording its task for
/// `serve`.</summary>
public class MultiTaskTuneCommandTests
{
    [Fact]
    public async Task Tuning_two_tasks_together_writes_an_adapter_for_each_and_a_per_task_report()
    {
        using var dir = new TempDirectory();
        var rows = new Dictionary<string, Func<int, object>>
        {
            ["food-reviews"] = i => new { label = i % 2 == 0 ? "great" : "other",
                text = i % 2 == 0 ? "Fresh, fragrant tea." : "Stale and bland." },
            ["brown-genre"] = i => new { label = i % 2 == 0 ? "news" : "fiction",
                text = i % 2 == 0 ? "The senate voted on the bill." : "She opened the old door." },
        };
        foreach (var (task, row) in rows)
        {
            Directory.CreateDirectory(Path.Combine(dir.Path, "data", task));
            // the shipped definition
            File.Copy(RepositoryData.Find($"tasks/{task}/task.json"), Path.Combine(dir.Path, "data", task,
                "task.json"));
            foreach (var split in new[] { "train", "validation", "test" })
                File.WriteAllLines(Path.Combine(dir.Path, "data", task, split + ".jsonl"),
                    Enumerable.Range(0, 6).Select(i => JsonSerializer.Serialize(row(i))));
        }
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "softprompt.dll"), "tune", "--model",
            SharedModels.TinyStoriesPath,
                     "--task", "food-reviews,brown-genre", "--data", Path.Combine(dir.Path, "data"), "--out",
                     dir.File("out"), "--steps", "4",
                     "--batch", "4", "--eval-every", "2", "--prompt-length", "3", "--init", "uniform", "--threads", "1",
                         "--json" })
            start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        string stdout = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromMinutes(2)).Token);
        Assert.True(process.ExitCode == 0, await stderr);

        int width = SoftPrompt.Models.Formats.ModelLoader.Load(SharedModels.TinyStoriesPath).Model.Config.HiddenSize;
        var report = JsonDocument.Parse(stdout.Trim().Split('\n')[^1]).RootElement;
        Assert.Equal(4, report.GetProperty("steps").GetInt32());
        foreach (var task in rows.Keys)
        {
            string adapter = report.GetProperty("per_task").GetProperty(task).GetProperty("adapter").GetString()!;
            Assert.Equal(Path.Combine(dir.File("out"), task), adapter);
            Assert.Equal(task, PromptAdapterFiles.TaskOf(adapter));
            Assert.Equal(3, PromptAdapterFiles.Load(adapter, width).Length);
        }
    }
}
