using SoftPrompt.Cli;
using SoftPrompt.Data.Tasks;
using SoftPrompt.Tests.Support;
using Xunit;

namespace SoftPrompt.Tests.Cli;

public class CliErrorsTests
{
    private static Exception Caught(Action action)
    {
        try { action(); }
        catch (Exception e) { return e; }
        throw new Xunit.Sdk.XunitException("nothing was thrown");
    }

    [Fact]
    public void Our_messages_are_one_line_for_the_user_and_framework_failures_are_bugs_with_a_trace()
    {
        // Ours: a task name that is no folder, a bad task.json field.
        Assert.True(CliErrors.IsUserError(Caught(() => TaskFolder.Locate("", "data/tasks"))));
        Assert.True(CliErrors.IsUserError(Caught(() => TaskFolder.Locate("/nonexistent/task", "data/tasks"))));
        // The framework's: a missing dictionary key and an empty sequence are bugs wherever they happen.
        Assert.False(CliErrors.IsUserError(Caught(() => _ = new Dictionary<string, int>()["x"])));
        Assert.False(CliErrors.IsUserError(Caught(() => _ = Array.Empty<int>().First())));
        var one = new int[1];
        Assert.False(CliErrors.IsUserError(Caught(() => _ = one[one.Length])));
    }

    [Fact]
    public async Task A_setting_the_library_refuses_by_property_is_shown_under_the_flag_the_user_typed()
    {
        var options = new SoftPrompt.Tuning.PromptTuning.PromptTuningOptions { Steps = 0 };
        Assert.Equal("Steps", Assert.Throws<SoftPrompt.Engine.OptionException>(options.Validate).Option);
        var (code, _, stderr) = await CliProcess.Run(TimeSpan.FromMinutes(1), "tune", "--model",
            SharedModels.TinyStoriesPath, "--task", "food-reviews",
            "--data", RepositoryData.TasksDirectory, "--steps", "0");
        Assert.NotEqual(0, code);
        Assert.Contains("error: --steps must be at least 1 (got 0).", stderr);
    }

    [Fact]
    public void A_bug_keeps_its_stack_trace_instead_of_becoming_an_error_line()
    {
        Assert.Throws<KeyNotFoundException>(() => CliErrors.Run(() => new Dictionary<string, int>()["missing"]));
        using var captured = new StringWriter(); // not Console.Error: tests beside this one may write there
        Assert.Equal(1, CliErrors.Run(() => throw new InvalidDataException("task.json: no \"template\"."), captured));
        Assert.Equal("error: task.json: no \"template\".", captured.ToString().Trim());
    }
}
