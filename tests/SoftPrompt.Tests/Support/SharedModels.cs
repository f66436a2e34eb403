namespace SoftPrompt.Tests.Support;

/// <summary>
/// Finds the project's shared folder of real model files. It sits beside the repository (/work/main with
/// /work/shared) or, in some checkouts, inside it (repo/shared). Tests run from deep inside bin/, so each ancestor
/// of the test assembly's folder is asked for a shared/ child: that covers both, the repository root's parent for
/// the first and the root itself for the second.
/// </summary>
public static class SharedModels
{
    public const string TinyStoriesRelative = "models/tinystories-260k/model.bin";

    /// <summary>The path of TinyStories-260K's model.bin; fails the test, saying where it looked, if it is absent.</summary>
    public static string TinyStoriesPath => Find(TinyStoriesRelative);

    /// <param name="relativePath">A path inside the shared folder, e.g. "models/tinystories-260k/model.bin".</param>
    public static string Find(string relativePath)
        => TryFind(relativePath) ?? throw new FileNotFoundException(
            $"Could not find shared/{relativePath} under any ancestor of {AppContext.BaseDirectory}; " +
            "the shared model files belong beside the repository (../shared) or inside it (shared/).");

    public static string? TryFind(string relativePath)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "shared", relativePath);
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }
}
