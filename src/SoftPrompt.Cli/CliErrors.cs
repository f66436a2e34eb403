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
        catch (Exception e) when (IsUserError(e))
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
    }

    // IOException covers missing files and directories and our ModelFormatException (a malformed model file).
    public static bool IsUserError(Exception e) =>
        e is IOException or InvalidDataException or UnauthorizedAccessException
            or ArgumentException or KeyNotFoundException or NotSupportedException or InvalidOperationException
            or System.Text.Json.JsonException;
}
