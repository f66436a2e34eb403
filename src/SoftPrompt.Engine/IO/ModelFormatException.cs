namespace SoftPrompt.Engine.IO;

/// <summary>
/// A model, checkpoint or config file that cannot be used as it is: truncated, corrupted, hostile or of a kind we do
/// not support. The message always starts with the file's path so a user can tell which of many files is at fault.
/// It is an <see cref="IOException"/> because <see cref="InvalidDataException"/>, the closer fit, is sealed.
/// </summary>
public sealed class ModelFormatException : IOException
{
    public ModelFormatException(string filePath, string problem, Exception? inner = null)
        : base($"{filePath}: {problem}", inner)
    {
        FilePath = filePath;
        Problem = problem;
    }

    public string FilePath { get; }

    /// <summary>The message without the path.</summary>
    public string Problem { get; }
}
