namespace SoftPrompt.Cli;

/// <summary>
/// The embedded defaults (the shipped base model and tasks) wherever the command runs: a default path like
/// "models/base-small" is used as given when it exists from the current folder (the repository root), and otherwise
/// taken from the copy the build places beside the program (and `dotnet tool install` with it).
/// </summary>
public static class ShippedFiles
{
    public static string Path(string relative)
    {
        if (File.Exists(relative) || Directory.Exists(relative)) return relative;
        string beside = System.IO.Path.Combine(AppContext.BaseDirectory, relative);
        return File.Exists(beside) || Directory.Exists(beside) ? beside : relative;
    }

    /// <summary>
    /// A --model value as the user typed it: a path that exists from here is used as given; otherwise a shipped model
    /// by its name ("base-small" for models/base-small) or by its repository path ("models/base-small"), from here or
    /// beside the program. Anything else is returned unchanged, for the loader to name in its error.
    /// </summary>
    public static string Model(string given)
    {
        if (File.Exists(given) || Directory.Exists(given) || System.IO.Path.IsPathRooted(given)) return given;
        foreach (string candidate in new[] { given, System.IO.Path.Combine("models", given) })
        {
            string found = Path(candidate);
            if (File.Exists(found) || Directory.Exists(found)) return found;
        }
        return given;
    }
}
