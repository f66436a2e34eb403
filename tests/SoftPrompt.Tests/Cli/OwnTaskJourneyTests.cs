using System.Diagnostics;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using SoftPrompt.Tests.Support;
using Xunit;

namespace SoftPrompt.Tests.Cli;

/// <summary>
/// A user's own task from start to finish, as processes started in a folder outside the repository: a brand-new task
/// (labels, template and field names no shipped task has) written there, then `task check`, `tune` (prompt tuning and
/// LoRA) with relative paths, `eval --adapter`, `generate` and `inspect` with the LoRA, and `serve` answering a
/// classification over HTTP for both adapters and for PEFT-written copies (a LoRA and a prompt) given their task by
/// --task, skipping a broken folder with its reason.
/// </summary>
public class OwnTaskJourneyTests
{
    [Fact]
    public async Task A_new_task_goes_from_check_to_tune_eval_and_serve_outside_the_repository()
    {
        using var home = new TempDirectory();
        string task = Path.Combine(home.Path, "tickets");
        Directory.CreateDirectory(task);
        var rows = new[] { ("The server room is on fire, come now!", "urgent"),
            ("Please update my email signature when you can.", "routine") };
        foreach (var split in new[] { "train", "validation", "test" })
            File.WriteAllLines(Path.Combine(task, split + ".jsonl"),
                Enumerable.Range(0, 8).Select(i => JsonSerializer.Serialize(new { subject = rows[i % 2].Item1,
                    priority = rows[i % 2].Item2 })));
        File.WriteAllText(Path.Combine(task, "task.json"), JsonSerializer.Serialize(new
        {
            kind = "classification", template = "Ticket: {subject}\nIs it urgent?", label_field = "priority",
            verbalizer = new Dictionary<string, string> { ["urgent"] = " yes", ["routine"] = " no" },
        }));
        var minute = TimeSpan.FromMinutes(1);
        string model = SharedModels.TinyStoriesPath;

        string check = await CliProcess.SucceedIn(home.Path, minute, "task", "check", "./tickets");
        Assert.Contains("Majority label", check);
        Assert.Contains("No problems found", check);

        string[] training = { "--model", model, "--task", "./tickets", "--steps", "4", "--batch", "4", "--eval-every",
            "2", "--threads", "1" };
        string tuned = await CliProcess.SucceedIn(home.Path, 2 * minute, ["tune", .. training, "--prompt-length", "3",
            "--init", "labels"]);
        Assert.StartsWith("Tuned prompt: ", tuned.Trim()); // words for a person unless --json asks for the record
        Assert.Contains("always answering", tuned);
        await CliProcess.SucceedIn(home.Path, 2 * minute, ["tune", .. training, "--method", "lora", "--out",
            "adapters/tickets-lora"]);
        // tune's default --out, under the caller's folder
        Assert.True(File.Exists(Path.Combine(home.Path, "adapters", "tickets", "adapter_model.safetensors")));

        var evaluated = JsonDocument.Parse((await CliProcess.SucceedIn(home.Path, minute, "eval", "--model", model,
            "--task", "./tickets",
            "--adapter", "adapters/tickets-lora", "--json")).Trim()).RootElement;
        Assert.Equal("lora", evaluated.GetProperty("method").GetString());
        // An ensemble of one prompt twice answers as that prompt alone, in accuracy and macro-F1.
        JsonElement Eval(params string[] adapter) => JsonDocument.Parse(CliProcess.SucceedIn(home.Path, minute,
            ["eval", "--model", model, "--task", "./tickets", "--json", .. adapter]).Result.Trim()).RootElement;
        var single = Eval("--adapter", "adapters/tickets");
        var twice = Eval("--ensemble", "adapters/tickets,adapters/tickets");
        foreach (string rule in new[] { "majority_vote", "mean_probability" })
        {
            Assert.Equal(single.GetProperty("accuracy").GetDouble(), twice.GetProperty(rule + "_accuracy").GetDouble());
            Assert.Equal(single.GetProperty("macro_f1").GetDouble(), twice.GetProperty(rule + "_macro_f1").GetDouble());
        }

        // generate and inspect read every method's adapter: LoRA hooks the layers while decoding; inspect lists its
        // tensors.
        string story = await CliProcess.SucceedIn(home.Path, minute, "generate", "--model", model, "--prompt",
            "Once upon a time",
            "--max-tokens", "4", "--adapter", "adapters/tickets-lora");
        Assert.StartsWith("Once upon a time", story);
        var (code, _, stderr) = await CliProcess.RunIn(home.Path, minute, "generate", "--model", model, "--prompt",
            "Once",
            "--adapter", "adapters/tickets-lora", "--beams", "2");
        Assert.NotEqual(0, code);
        Assert.Contains("beam search runs with a prompt-tuning adapter or none", stderr);
        // A shipped model by its name, or by its repository path, from a folder that holds neither.
        foreach (string shipped in new[] { "base-small", "models/base-small" })
            Assert.StartsWith("Once", await CliProcess.SucceedIn(home.Path, minute, "generate", "--model", shipped,
                "--prompt", "Once", "--max-tokens", "2"));
        string tensors = await CliProcess.SucceedIn(home.Path, minute, "inspect", "--model", model, "--adapter",
            "adapters/tickets-lora");
        Assert.Contains("LORA adapter:", tensors);
        Assert.Contains("lora_A", tensors);
        Assert.Contains("% of the base", tensors);
        string nearest = await CliProcess.SucceedIn(home.Path, minute, "inspect", "--model", model, "--adapter",
            "adapters/tickets");
        Assert.StartsWith("P0 ", nearest);

        // As PEFT would write them: the same LoRA without our softprompt_task.json, told its task by --task; and a
        // folder that is no adapter at all, which serve skips with its reason while serving the rest.
        foreach (var (copy, of) in new[] { ("peft-lora", "tickets-lora"), ("peft-prompt", "tickets") })
        {
            string peft = Path.Combine(home.Path, "adapters", copy);
            Directory.CreateDirectory(peft);
            foreach (var file in new[] { "adapter_config.json", "adapter_model.safetensors" })
                File.Copy(Path.Combine(home.Path, "adapters", of, file), Path.Combine(peft, file));
        }
        Directory.CreateDirectory(Path.Combine(home.Path, "adapters", "broken"));
        File.WriteAllText(Path.Combine(home.Path, "adapters", "broken", "adapter_config.json"),
            "{\"peft_type\": \"LORA\"");
        // --adapters defaults to ./adapters
        using var serve = Process.Start(CliProcess.StartInfo(home.Path, "serve", "--model", model, "--port", "0",
            // one adapter named, then every adapter that names none
            "--task", "peft-lora=./tickets", "--task", "./tickets"))!;
        try
        {
            string? url = null;
            var log = new StringBuilder();
            while (url is null && await serve.StandardError.ReadLineAsync().WaitAsync(minute) is string line)
            {
                log.AppendLine(line);
                if (line.StartsWith("serving ")) url = line[(line.IndexOf(" at ") + 4)..].Split(' ')[0];
            }
            Assert.True(url is not null, log.ToString());
            Assert.Contains("loaded tickets:", log.ToString());
            Assert.Contains("loaded tickets-lora:", log.ToString());
            Assert.Contains("loaded peft-lora: tickets", log.ToString());
            Assert.Contains("loaded peft-prompt: tickets (classification, PROMPT_TUNING", log.ToString());
            Assert.Contains("skipped broken: ", log.ToString());
            using var http = new HttpClient { BaseAddress = new Uri(url!) };
            var firstProbability = new List<string>();
            foreach (string adapter in new[] { "tickets", "tickets-lora", "peft-lora", "peft-prompt" })
            {
                var response = await http.PostAsync("/api/classify", new StringContent(
                    JsonSerializer.Serialize(new { task = adapter, text = "The printer is smoking." }), Encoding.UTF8,
                        "application/json"));
                Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
                var body = await response.Content.ReadFromJsonAsync<JsonElement>();
                Assert.Contains(body.GetProperty("label").GetString(), new[] { "urgent", "routine" });
                firstProbability.Add(body.GetProperty("probabilities")[0].GetProperty("probability").GetDouble()
                    .ToString("F6"));
            }
            // each PEFT copy answers as the adapter it was copied from
            Assert.Equal(firstProbability[1], firstProbability[2]);
            Assert.Equal(firstProbability[0], firstProbability[3]);
        }
        finally { serve.Kill(entireProcessTree: true); }
    }
}
