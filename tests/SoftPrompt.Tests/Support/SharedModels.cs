namespace SoftPrompt.Tests.Support;

/// <summary>
/// Finds real model files: first the repository's own copy under tests/fixtures (copied beside the test assembly, so
/// a clone needs nothing outside itself), then the project's shared folder beside the repository (/work/main with
/// /work/shared) or inside it (repo/shared): each ancestor of the test assembly's folder is asked for a shared/ child.
/// </summary>
public static class SharedModels
{
    public const string TinyStoriesRelative = "models/tinystories-260k/model.bin";

    /// <summary>The path of TinyStories-260K's model.bin; fails the test, saying where it looked, if it is
    /// absent.</summary>
    public static string TinyStoriesPath => Find(TinyStoriesRelative);

    /// <param name="relativePath">A path inside the shared folder, e.g. "models/tinystories-260k/model.bin".</param>
    public static string Find(string relativePath)
        => TryFind(relativePath) ?? throw new FileNotFoundException(
            $"Could not find shared/{relativePath} under any ancestor of {AppContext.BaseDirectory}; " +
            "the shared model files belong beside the repository (../shared) or inside it (shared/).");

    public static string? TryFind(string relativePath)
    {
        string own = Path.Combine(AppContext.BaseDirectory, "fixtures", relativePath);
        if (File.Exists(own)) return own;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "shared", relativePath);
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }
}
