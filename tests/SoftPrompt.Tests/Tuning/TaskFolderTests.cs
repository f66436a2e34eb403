using SoftPrompt.Data.Tasks;
using SoftPrompt.Tests.Support;
using Xunit;

namespace SoftPrompt.Tests.Tuning;

public class TaskFolderTests
{
    [Fact]
    public void A_name_is_looked_up_under_the_data_folder_and_a_path_is_the_task_folder_itself()
    {
        using var dir = new TempDirectory();
        string mine = Path.Combine(dir.Path, "my-spam");
        Directory.CreateDirectory(mine);
        File.WriteAllText(Path.Combine(mine, "train.jsonl"), "{\"text\": \"hi\", \"label\": \"ham\"}\n");

        Assert.Equal(new TaskFolder("food-reviews", Path.Combine("data", "tasks", "food-reviews")),
            TaskFolder.Locate("food-reviews", Path.Combine("data", "tasks")));
        var located = TaskFolder.Locate(mine + "/", "data/tasks");
        Assert.Equal("my-spam", located.Name);
        Assert.Equal(Path.Combine(mine, "train.jsonl"), located.Split("train"));
        var missing = Assert.Throws<DirectoryNotFoundException>(() => TaskFolder.Locate(Path.Combine(dir.Path, "nope"),
            "data/tasks"));
        Assert.Contains("no such task folder", missing.Message);
    }

    [Fact]
    public void Check_names_every_bad_row_and_reports_the_rate_to_beat()
    {
        using var dir = new TempDirectory();
        string folder = Path.Combine(dir.Path, "mail");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "task.json"),
            "{\"template\": \"Email: {text}\\nSpam?\", \"verbalizer\": {\"spam\": \" yes\", \"ham\": \" no\"}}");
        string Row(string text, string label) => $"{{\"text\": \"{text}\", \"label\": \"{label}\"}}\n";
        File.WriteAllText(Path.Combine(folder, "train.jsonl"),
            Row("win money", "spam") + Row("lunch?", "ham") + Row("notes", "ham") + Row("odd", "maybe") + "{broken\n"
                + "{\"label\": \"ham\"}\n");
        File.WriteAllText(Path.Combine(folder, "validation.jsonl"), Row("agenda", "ham"));
        File.WriteAllText(Path.Combine(folder, "test.jsonl"), Row("lunch?", "ham") + Row("cheap pills", "spam")
            + Row("hi", "ham") + Row("re: hi", "ham"));

        var report = TaskCheck.Run(TaskFolder.Locate(folder, "unused"));

        Assert.Equal(new[] { "train.jsonl, line 4", "train.jsonl, line 5", "train.jsonl, line 6" },
            report.Problems.Select(p => p[(p.IndexOf("train.jsonl", StringComparison.Ordinal))..(p.IndexOf(':',
                p.IndexOf("line", StringComparison.Ordinal)))]).ToArray());
        Assert.Contains("\"maybe\"", report.Problems[0]);
        Assert.Contains("\"text\"", report.Problems[2]);
        Assert.Equal(5, report.Splits[0].Rows);
        Assert.Equal(("ham", 0.75), report.Majority);
        Assert.Equal(1, report.TextsInTwoSplits); // "lunch?" is in train and test
    }
}
