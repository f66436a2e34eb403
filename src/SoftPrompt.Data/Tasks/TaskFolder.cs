namespace SoftPrompt.Data.Tasks;

/// <summary>
/// Where a task's files are: `--task NAME` is a folder under the data directory (`data/tasks/NAME`), and `--task PATH`
/// (anything with a path separator, or an existing folder that holds a train.jsonl) is the task folder itself, named
/// after its last component. Either way the folder holds train/validation/test.jsonl and, optionally, task.json.
/// </summary>
public sealed record TaskFolder(string Name, string Directory)
{
    public static TaskFolder Locate(string task, string dataDirectory)
    {
        if (string.IsNullOrWhiteSpace(task))
            throw new ArgumentException("Give a task: a name under the data directory, or a task folder's path.");
        bool looksLikePath = task.Contains('/') || task.Contains(Path.DirectorySeparatorChar) || task.StartsWith('.');
        if (looksLikePath || File.Exists(Path.Combine(task, "train.jsonl")) && !System.IO.Directory.Exists(
            Path.Combine(dataDirectory, task)))
        {
            string trimmed = Path.TrimEndingDirectorySeparator(task);
            string name = Path.GetFileName(Path.GetFullPath(trimmed));
            if (!System.IO.Directory.Exists(trimmed))
                throw new DirectoryNotFoundException($"{task}: no such task folder.");
            return new TaskFolder(name, trimmed);
        }
        return new TaskFolder(task, Path.Combine(dataDirectory, task));
    }

    public string Split(string split) => Path.Combine(Directory, split + ".jsonl");
}
