using System.Diagnostics;
using SoftPrompt.Models.Formats;
using SoftPrompt.Serving;
using SoftPrompt.Tests.Support;
using SoftPrompt.Tuning.PromptTuning;
using Xunit;

namespace SoftPrompt.Tests.Serving;

/// <summary>
/// The served page in headless Chromium (Debian `chromium`): it lists the tasks, runs a classification through the
/// API and shows the answer and the nearest tokens. Trait Browser: `dotnet test --filter Category=Browser`.
/// </summary>
[Trait("Category", "Browser")]
public class WebPageBrowserTests
{
    [Fact]
    public async Task Page_classifies_an_input_and_shows_the_answer()
    {
        using var dir = new TempDirectory();
        var loaded = ModelLoader.Load(SharedModels.TinyStoriesPath);
        await using var server = new PromptServer(loaded.Model, loaded.Tokenizer!, new ServerOptions { Port = 0,
            TasksRoot = RepositoryData.TasksDirectory });
        var prompt = new PromptEmbedding(4, loaded.Model.Config.HiddenSize);
        prompt.InitializeUniform(1);
        var curve = new SoftPrompt.Training.Progress.TrainingCurve(
            SoftPrompt.Training.Progress.SilentProgress.Instance);
        for (int step = 1; step <= 40; step++)
        {
            curve.Step(new SoftPrompt.Training.Progress.StepReport(step, 40, 2f / step + 0.5f, 0.3f, 1f, step * 8, 100,
                TimeSpan.Zero));
            if (step % 10 == 0)
                curve.Evaluated(new SoftPrompt.Training.Progress.EvaluationReport(step, float.NaN, true,
                    new Dictionary<string, double> { ["accuracy"] = 0.5 + step / 100.0 }));
        }
        curve.Save(dir.File("reviews"));
        PromptAdapterFiles.Save(dir.File("reviews"), prompt, new PromptAdapterFiles.Info("tinystories", 5, 8, "uniform",
            null, "food-reviews"));
        server.Load("reviews", dir.File("reviews"));
        string url = await server.StartAsync();

        string page = $"{url}/?task=reviews&text={Uri.EscapeDataString("Fresh, fragrant tea.")}";
        string dom = await RunChromium(page, dir.Path, "--dump-dom");
        Assert.Contains("<option value=\"reviews\">reviews (classification)</option>", dom);
        Assert.Matches("Answer: <b id=\"label\">(great|other)</b>", dom);
        Assert.Contains("%</td></tr>", dom);           // the probability rows
        Assert.Contains("<td>P3</td>", dom);            // the fourth prompt vector's nearest tokens
        Assert.Contains("<polyline", dom);              // the training curve
        Assert.Contains("over 40 steps · dots: validation accuracy", dom);

        // A screenshot of the page in use: reports/web-page.png comes from here (SOFTPROMPT_SCREENSHOT names the file).
        string png = Environment.GetEnvironmentVariable("SOFTPROMPT_SCREENSHOT") is { Length: > 0 } wanted
            ? Path.GetFullPath(wanted) : dir.File("page.png");
        await RunChromium(page, dir.Path, $"--screenshot={png}", "--window-size=900,1100", "--hide-scrollbars");
        var bytes = File.ReadAllBytes(png);
        Assert.True(bytes.Length > 10_000, $"screenshot of {bytes.Length} bytes");
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, bytes[..4]);
    }

    [Fact]
    public async Task Markup_in_an_adapters_files_is_shown_as_text_and_never_runs()
    {
        // Issue 19: a curve key (any file an adapter's author writes) reached the page as HTML and ran its script.
        using var dir = new TempDirectory();
        var loaded = ModelLoader.Load(SharedModels.TinyStoriesPath);
        await using var server = new PromptServer(loaded.Model, loaded.Tokenizer!, new ServerOptions { Port = 0,
            TasksRoot = RepositoryData.TasksDirectory });
        const string payload = "<img src=x onerror=\"document.body.setAttribute('data-pwned','1')\">";
        var curve = new SoftPrompt.Training.Progress.TrainingCurve(
            SoftPrompt.Training.Progress.SilentProgress.Instance);
        for (int step = 1; step <= 4; step++)
            curve.Step(new SoftPrompt.Training.Progress.StepReport(step, 4, 1f / step, 0.3f, 1f, step, 1,
                TimeSpan.Zero));
        curve.Evaluated(new SoftPrompt.Training.Progress.EvaluationReport(4, float.NaN, true, new Dictionary<string,
            double> { [payload] = 0.5 }));
        curve.Save(dir.File("hostile"));
        PromptAdapterFiles.Save(dir.File("hostile"), new PromptEmbedding(2, loaded.Model.Config.HiddenSize),
            new PromptAdapterFiles.Info("tinystories", 5, 8, "uniform", null, "food-reviews"));
        server.Load("hostile", dir.File("hostile"));
        string url = await server.StartAsync();

        string dom = await RunChromium($"{url}/?task=hostile&text=Fine.", dir.Path, "--dump-dom");
        Assert.Contains("<polyline", dom);             // the page's own script ran (the policy let it)
        Assert.DoesNotContain("data-pwned", dom.Replace("setAttribute('data-pwned'", ""));
        Assert.Contains("&lt;img src=x onerror=", dom); // shown as text
    }

    private static async Task<string> RunChromium(string url, string profile, params string[] action)
    {
        var start = new ProcessStartInfo("chromium")
        {
            RedirectStandardOutput = true, RedirectStandardError = true,
        };
        foreach (var a in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--disable-component-update", "--no-first-run", $"--user-data-dir={profile}/chromium",
                     "--virtual-time-budget=10000" }.Concat(action).Append(url))
            start.ArgumentList.Add(a);
        using var process = Process.Start(start) ?? throw new InvalidOperationException("chromium did not start");
        var output = process.StandardOutput.ReadToEndAsync();
        if (!process.WaitForExit(60_000)) { process.Kill(true); throw new TimeoutException(
            "chromium did not finish in 60 s"); }
        return await output;
    }
}
