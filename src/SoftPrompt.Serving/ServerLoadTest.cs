using System.Diagnostics;
using System.Text;
using System.Text.Json;
using SoftPrompt.Data.Tasks;
using SoftPrompt.Data.Tokenizers;
using SoftPrompt.Models;
using SoftPrompt.Tuning.PromptTuning;

namespace SoftPrompt.Serving;

/// <summary>Throughput and client-side latency of one pass over the requests.</summary>
public sealed record LoadPass(int Clients, int Requests, int Failed, double Seconds, double RequestsPerSecond,
    double P50Ms, double P95Ms);

/// <param name="Wrong">Concurrent answers that differ from the same request's answer alone (another label, or a
/// probability off by more than 1e-4).</param>
public sealed record LoadTestReport(LoadPass OneByOne, LoadPass Concurrent, int Wrong, int LargestBatch);

/// <summary>
/// A bounded load test of `softprompt serve` on loopback: three classification adapters with prompts of different
/// lengths over one model, the same requests sent first one at a time (each then runs alone, and its answer is the
/// reference) and then by many concurrent clients, whose answers must match. Used by `softprompt bench --cases serve`
/// and the slow serving test.
/// </summary>
public static class ServerLoadTest
{
    // Two tasks of the load test's own (its requests are not any shipped task's texts): two labels and five.
    private static readonly ClassificationTask Verdict = new("verdict", "Review: {text}\nWas it good?",
        new Dictionary<string, string> { ["good"] = " yes", ["bad"] = " no" });
    private static readonly ClassificationTask Topic = new("topic", "{text}\nTopic:",
        new[] { "food", "news", "crime", "science", "family" }.ToDictionary(t => t, t => " " + t));

    private static readonly (string Name, ClassificationTask Task, int PromptLength)[] Adapters =
        { ("reviews-short", Verdict, 4), ("topics", Topic, 12), ("reviews-long", Verdict, 24) };

    private static readonly string[] Openings =
    {
        "The soup was", "Our waiter brought", "In the senate today", "The detective opened",
        "My grandmother's recipe for",
        "The new telescope showed", "After the storm the village", "This restaurant serves",
    };

    public static async Task<LoadTestReport> RunAsync(CausalLanguageModel model, ITokenizer tokenizer, int requests,
        int clients, int seed = 1)
    {
        await using var server = new PromptServer(model, tokenizer, new ServerOptions { Port = 0 });
        foreach (var (name, task, length) in Adapters)
        {
            var prompt = new PromptEmbedding(length, model.Config.HiddenSize);
            prompt.InitializeUniform(seed + length, range: 0.3f);
            server.Serve(name, task, prompt);
        }
        using var http = new HttpClient { BaseAddress = new Uri(await server.StartAsync()),
            Timeout = TimeSpan.FromMinutes(5) };
        var bodies = Requests(requests, seed);
        var (reference, oneByOne) = await Pass(http, bodies, clients: 1);
        var (answers, concurrent) = await Pass(http, bodies, clients);
        int wrong = answers.Where((a, i) => a is not null && reference[i] is not null && !SameAnswer(a, reference[i]!))
            .Count();
        return new LoadTestReport(oneByOne, concurrent, wrong, server.Batcher.LargestBatch);
    }

    /// <summary>Classification requests over the three adapters, texts of 1 to 6 clauses so rows differ in
    /// length.</summary>
    private static string[] Requests(int count, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, count).Select(i =>
        {
            var text = new StringBuilder();
            for (int clause = rng.Next(1, 7); clause > 0; clause--)
                text.Append(Openings[rng.Next(Openings.Length)]).Append(" something ").Append(rng.Next(1000))
                    .Append(". ");
            return JsonSerializer.Serialize(new { task = Adapters[i % Adapters.Length].Name,
                text = text.ToString().Trim() });
        }).ToArray();
    }

    /// <summary>Sends every request once with <paramref name="clients"/> in flight; a failed request's answer is
    /// null.</summary>
    private static async Task<(string?[] Answers, LoadPass Pass)> Pass(HttpClient http, string[] bodies, int clients)
    {
        var answers = new string?[bodies.Length];
        var latencies = new double[bodies.Length];
        int next = -1, failed = 0;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, clients).Select(_ => Task.Run(async () =>
        {
            for (int i; (i = Interlocked.Increment(ref next)) < bodies.Length;)
            {
                var started = Stopwatch.GetTimestamp();
                try
                {
                    using var response = await http.PostAsync("/api/classify", new StringContent(bodies[i],
                        Encoding.UTF8, "application/json"));
                    string body = await response.Content.ReadAsStringAsync();
                    if (response.IsSuccessStatusCode) answers[i] = body;
                    else Interlocked.Increment(ref failed);
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { Interlocked.Increment(
                    ref failed); }
                latencies[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            }
        })));
        double seconds = clock.Elapsed.TotalSeconds;
        Array.Sort(latencies);
        return (answers, new LoadPass(clients, bodies.Length, failed, Math.Round(seconds, 2),
            Math.Round(bodies.Length / seconds, 1),
            Math.Round(Percentile(latencies, 0.50), 1), Math.Round(Percentile(latencies, 0.95), 1)));
    }

    private static double Percentile(double[] sorted, double q) =>
        sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];

    private static bool SameAnswer(string a, string b)
    {
        using var x = JsonDocument.Parse(a);
        using var y = JsonDocument.Parse(b);
        if (x.RootElement.GetProperty("label").GetString() != y.RootElement.GetProperty("label").GetString())
            return false;
        var p = x.RootElement.GetProperty("probabilities").EnumerateArray().Select(e => e.GetProperty("probability")
            .GetDouble()).ToArray();
        var q = y.RootElement.GetProperty("probabilities").EnumerateArray().Select(e => e.GetProperty("probability")
            .GetDouble()).ToArray();
        return p.Length == q.Length && p.Zip(q).All(pair => Math.Abs(pair.First - pair.Second) <= 1e-4);
    }
}
