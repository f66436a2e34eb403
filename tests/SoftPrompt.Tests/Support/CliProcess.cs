using System.Diagnostics;
using Xunit;

namespace SoftPrompt.Tests.Support;

/// <summary>The `softprompt` command run as a child process, as a user runs it.</summary>
public static class CliProcess
{
    public static Task<(int ExitCode, string Stdout, string Stderr)> Run(TimeSpan timeout, params string[] args) =>
        RunIn(null, timeout, args);

    /// <summary>The command started in <paramref name="workingDirectory"/> (this process's own when null).</summary>
    public static ProcessStartInfo StartInfo(string? workingDirectory, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        if (workingDirectory is not null) start.WorkingDirectory = workingDirectory;
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "softprompt.dll"));
        foreach (var a in args) start.ArgumentList.Add(a);
        return start;
    }

    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunIn(string? workingDirectory,
        TimeSpan timeout, params string[] args)
    {
        using var process = Process.Start(StartInfo(workingDirectory, args))!;
        var stderr = process.StandardError.ReadToEndAsync();
        string stdout = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync(new CancellationTokenSource(timeout).Token);
        return (process.ExitCode, stdout, await stderr);
    }

    /// <summary>Runs the command and fails the test with its stderr unless it exits with 0; returns stdout.</summary>
    public static Task<string> Succeed(TimeSpan timeout, params string[] args) => SucceedIn(null, timeout, args);

    public static async Task<string> SucceedIn(string? workingDirectory, TimeSpan timeout, params string[] args)
    {
        var (code, stdout, stderr) = await RunIn(workingDirectory, timeout, args);
        Assert.True(code == 0, stderr);
        return stdout;
    }
}
