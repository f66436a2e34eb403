namespace SoftPrompt.Tests.Support;

/// <summary>Finds files of the repository's data/ folder from inside bin/ (the repository root is an ancestor).</summary>
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
        throw new FileNotFoundException($"Could not find data/{relativePath} under any ancestor of {AppContext.BaseDirectory}.");
    }
}
