using SoftPrompt.Tests.Models;
using SoftPrompt.Tests.Support;
using Xunit;

namespace SoftPrompt.Tests.Cli;

/// <summary>`--weights int8` where a model only runs (eval, generate, serve, bench's inference cases), and a one-line
/// refusal where it would train.</summary>
public class Int8WeightsCommandTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task Eval_in_int8_scores_a_shipped_task_as_fp32_does_within_2_points()
    {
        async Task<double> Accuracy(string weights)
        {
            var stdout = await CliProcess.Succeed(Limit, "eval", "--model",
                ShippedModelTests.RepositoryPath("models/base-adapted"), "--task", "spam", "--data",
                RepositoryData.TasksDirectory, "--examples", "200", "--weights", weights, "--json");
            using var json = System.Text.Json.JsonDocument.Parse(stdout);
            return json.RootElement.GetProperty("accuracy").GetDouble();
        }
        double fp32 = await Accuracy("fp32"), int8 = await Accuracy("int8");
        Assert.InRange(Math.Abs(int8 - fp32), 0, 0.02);
    }

    [Fact]
    public async Task Int8_is_refused_in_one_line_where_the_model_would_train()
    {
        var (code, _, stderr) = await CliProcess.Run(Limit, "tune", "--model",
            ShippedModelTests.RepositoryPath("models/base-tiny"), "--task", "spam", "--data",
            RepositoryData.TasksDirectory, "--weights", "int8");
        Assert.NotEqual(0, code);
        Assert.Contains("error: --weights is fp32 or bf16, not 'int8'.", stderr);
        (code, _, stderr) = await CliProcess.Run(Limit, "bench", "--cases", "forward,prompt", "--weights", "int8");
        Assert.NotEqual(0, code);
        Assert.Contains("error: --weights int8 is for inference; the case prompt trains (use fp32 or bf16 there).",
            stderr);
        Assert.DoesNotContain("   at ", stderr);
    }
}
