using SoftPrompt.Engine.IO;

namespace SoftPrompt.Models.Formats;

internal static class ConfigValidation
{
    /// <summary><see cref="ModelConfig.Validate"/>, reported as a problem of the file the config came from.</summary>
    public static void ValidateFrom(this ModelConfig config, string path)
    {
        try
        {
            config.Validate(path);
        }
        catch (InvalidDataException e)
        {
            string prefix = path + ": ";
            string problem = e.Message.StartsWith(prefix, StringComparison.Ordinal) ? e.Message[prefix.Length..]
                : e.Message;
            throw new ModelFormatException(path, $"inconsistent sizes: {problem}", e);
        }
    }
}
