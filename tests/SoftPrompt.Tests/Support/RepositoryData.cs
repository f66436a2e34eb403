namespace SoftPrompt.Tests.Support;

/// <summary>Finds files of the repository's data/ folder from inside bin/ (the repository root is an
/// ancestor).</summary>
public static class RepositoryData
{
    /// <param name="relativePath">A path inside data/, e.g. "tasks/brown-pos/validation.jsonl".</param>
    public static string Find(string relativePath)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "data", relativePath);
            if (File.Exists(candidate)) return candidate;
        }
        throw new FileNotFoundException(
            $"Could not find data/{relativePath} under any ancestor of {AppContext.BaseDirectory}.");
    }

    /// <summary>data/tasks: the shipped task folders.</summary>
    public static string TasksDirectory => Path.GetDirectoryName(Path.GetDirectoryName(Find("tasks/spam/task.json")))!;

    /// <summary>A shipped task's definition, read from its task.json under data/tasks.</summary>
    public static SoftPrompt.Data.Tasks.ITaskDefinition Task(string name) =>
        SoftPrompt.Data.Tasks.TaskDefinition.Load(Path.GetDirectoryName(Find($"tasks/{name}/task.json"))!, name);

    public static SoftPrompt.Data.Tasks.ClassificationTask Classification(string name) =>
        (SoftPrompt.Data.Tasks.ClassificationTask)Task(name);

    /// <summary>The shipped part-of-speech task (the 12 universal tags).</summary>
    public static SoftPrompt.Data.Tasks.TaggingTask BrownPos => (SoftPrompt.Data.Tasks.TaggingTask)Task("brown-pos");
}
