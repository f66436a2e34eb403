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

        Assert.Equal(new TaskFolder("food-reviews", Path.Combine("data", "tasks", "food-reviews")), TaskFolder.Locate("food-reviews", Path.Combine("data", "tasks")));
        var located = TaskFolder.Locate(mine + "/", "data/tasks");
        Assert.Equal("my-spam", located.Name);
        Assert.Equal(Path.Combine(mine, "train.jsonl"), located.Split("train"));
        var missing = Assert.Throws<DirectoryNotFoundException>(() => TaskFolder.Locate(Path.Combine(dir.Path, "nope"), "data/tasks"));
        Assert.Contains("no such task folder", missing.Message);
    }
}
