namespace SoftPrompt.Cli;

/// <summary>Turns the errors a user can cause (bad files, shapes, arguments) into one clear line and exit code 1,
/// instead of a stack trace. Anything else is a bug and keeps its trace.</summary>
public static class CliErrors
{
    public static int Run(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (Exception e) when (e is InvalidDataException or FileNotFoundException or DirectoryNotFoundException
                                       or ArgumentException or KeyNotFoundException or NotSupportedException or InvalidOperationException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
    }
}
