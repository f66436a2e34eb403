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
}
