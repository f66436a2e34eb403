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
        await using var server = new PromptServer(loaded.Model, loaded.Tokenizer!, new ServerOptions { Port = 0 });
        var prompt = new PromptEmbedding(4, loaded.Model.Config.HiddenSize);
        prompt.InitializeUniform(1);
        PromptAdapterFiles.Save(dir.File("reviews"), prompt, new PromptAdapterFiles.Info("tinystories", 5, 8, "uniform", null, "food-reviews"));
        server.Load("reviews", dir.File("reviews"));
        string url = await server.StartAsync();

        string dom = await RunChromium($"{url}/?task=reviews&text={Uri.EscapeDataString("Fresh, fragrant tea.")}", dir.Path);
        Assert.Contains("<option value=\"reviews\">reviews (classification)</option>", dom);
        Assert.Matches("Answer: <b id=\"label\">(great|other)</b>", dom);
        Assert.Contains("%</td></tr>", dom);           // the probability rows
        Assert.Contains("<td>P3</td>", dom);            // the fourth prompt vector's nearest tokens
    }

    private static async Task<string> RunChromium(string url, string profile)
    {
        var start = new ProcessStartInfo("chromium")
        {
            RedirectStandardOutput = true, RedirectStandardError = true,
        };
        foreach (var a in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--disable-component-update", "--no-first-run", $"--user-data-dir={profile}/chromium",
                     "--virtual-time-budget=10000", "--dump-dom", url })
            start.ArgumentList.Add(a);
        using var process = Process.Start(start) ?? throw new InvalidOperationException("chromium did not start");
        var output = process.StandardOutput.ReadToEndAsync();
        if (!process.WaitForExit(60_000)) { process.Kill(true); throw new TimeoutException("chromium did not finish in 60 s"); }
        return await output;
    }
}
