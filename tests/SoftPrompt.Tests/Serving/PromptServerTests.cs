using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using SoftPrompt.Data.Tasks;
using SoftPrompt.Models.Formats;
using SoftPrompt.Serving;
using SoftPrompt.Tests.Support;
using SoftPrompt.Tuning.PromptTuning;
using Xunit;

namespace SoftPrompt.Tests.Serving;

/// <summary>The HTTP server on loopback, over the real TinyStories model with two task adapters.</summary>
public sealed class PromptServerTests : IAsyncLifetime
{
    private readonly TempDirectory _dir = new();
    private LoadedModel _loaded = null!;
    private PromptServer _server = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _loaded = ModelLoader.Load(SharedModels.TinyStoriesPath);
        _server = new PromptServer(_loaded.Model, _loaded.Tokenizer!, new ServerOptions { Port = 0,
            TasksRoot = RepositoryData.TasksDirectory });
        foreach (var (name, task, seed) in new[] { ("reviews", "food-reviews", 1), ("genres", "brown-genre", 2),
            ("glosses", "wordnet-gloss", 3) })
        {
            var prompt = new PromptEmbedding(3 + seed, _loaded.Model.Config.HiddenSize);
            prompt.InitializeUniform(seed);
            string path = Path.Combine(_dir.Path, name);
            // One adapter keeps its task's definition (as `tune` writes it); the others name their task, found under
            // TasksRoot.
            PromptAdapterFiles.Save(path, prompt, new PromptAdapterFiles.Info("tinystories", 5, 8, "uniform", null,
                task,
                seed == 3 ? RepositoryData.Task(task) : null));
            _server.Load(name, path);
        }
        string url = await _server.StartAsync();
        Assert.StartsWith("http://127.0.0.1:", url);
        _http = new HttpClient { BaseAddress = new Uri(url) };
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _server.DisposeAsync();
        _dir.Dispose();
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    [Fact]
    public async Task Lists_tasks_and_serves_the_page()
    {
        var tasks = await _http.GetFromJsonAsync<JsonElement>("/api/tasks");
        Assert.Equal(new[] { "genres", "glosses", "reviews" }, tasks.EnumerateArray().Select(t => t.GetProperty("name")
            .GetString()).ToArray());
        Assert.Equal(15, tasks[0].GetProperty("labels").GetArrayLength());
        Assert.Contains("softprompt", await _http.GetStringAsync("/"));
        var nearest = await _http.GetFromJsonAsync<JsonElement>("/api/adapters/reviews/nearest");
        Assert.Equal(4, nearest.GetArrayLength());
        Assert.Equal(5, nearest[0].GetProperty("tokens").GetArrayLength());
    }

    [Fact]
    public async Task Concurrent_requests_of_two_tasks_are_batched_and_each_matches_its_adapter_alone()
    {
        var texts = Enumerable.Range(0, 12).Select(i =>
            $"Story number {i}: the dog was {(i % 2 == 0 ? "happy" : "sad")} all day.").ToArray();
        Task<HttpResponseMessage>[] calls;
        await _server.ModelLock.WaitAsync(); // hold the model so the requests queue up together
        try
        {
            calls = texts.Select((t, i) => _http.PostAsync("/api/classify",
                Json(JsonSerializer.Serialize(new { task = i % 3 == 0 ? "genres" : "reviews", text = t })))).ToArray();
            await Task.Delay(500);
        }
        finally { _server.ModelLock.Release(); }
        var responses = await Task.WhenAll(calls);
        Assert.True(_server.Batcher.LargestBatch >= 2, $"largest batch {_server.Batcher.LargestBatch}");
        for (int i = 0; i < texts.Length; i++)
        {
            Assert.Equal(HttpStatusCode.OK, responses[i].StatusCode);
            var body = await responses[i].Content.ReadFromJsonAsync<JsonElement>();
            string adapter = i % 3 == 0 ? "genres" : "reviews";
            var task = RepositoryData.Classification(i % 3 == 0 ? "brown-genre" : "food-reviews");
            var prompt = PromptAdapterFiles.Load(Path.Combine(_dir.Path, adapter), _loaded.Model.Config.HiddenSize);
            var alone = new PromptClassifier(_loaded.Model, _loaded.Tokenizer!, task, prompt)
                .Predict(new[] { new LabeledExample(new Dictionary<string, string> { ["text"] = texts[i] },
                    task.Labels[0]) })[0];
            Assert.Equal(alone, body.GetProperty("label").GetString());
            double total = body.GetProperty("probabilities").EnumerateArray().Sum(p => p.GetProperty("probability")
                .GetDouble());
            Assert.Equal(1.0, total, 3);
        }
    }

    [Fact]
    public async Task Bad_requests_get_clear_4xx_errors()
    {
        async Task Expect(HttpStatusCode status, Task<HttpResponseMessage> call, string fragment)
        {
            var response = await call;
            Assert.Equal(status, response.StatusCode);
            Assert.Contains(fragment, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error")
                .GetString());
        }
        await Expect(HttpStatusCode.BadRequest, _http.PostAsync("/api/classify", Json("{ not json")), "not valid JSON");
        await Expect(HttpStatusCode.NotFound, _http.PostAsync("/api/classify",
            Json("{\"task\": \"nope\", \"text\": \"x\"}")), "Unknown task 'nope'");
        await Expect(HttpStatusCode.BadRequest, _http.PostAsync("/api/classify", Json("{\"task\": \"reviews\"}")),
            "non-empty");
        await Expect(HttpStatusCode.BadRequest, _http.PostAsync("/api/generate", Json("[1, 2")), "not valid JSON");
        await Expect(HttpStatusCode.NotFound, _http.PostAsync("/api/generate",
            Json("{\"task\": \"nope\", \"text\": \"x\", \"stream\": true}")), "Unknown task 'nope'");
        await Expect(HttpStatusCode.BadRequest, _http.PostAsync("/api/generate",
            Json("{\"task\": \"reviews\", \"text\": \"x\"}")), "classification task");
        await Expect(HttpStatusCode.Forbidden, _http.PostAsync("/api/adapters",
            Json("{\"name\": \"x\", \"path\": \"/etc\"}")), "off");
        var huge = JsonSerializer.Serialize(new { task = "reviews", text = new string('a', 100_000) });
        var response = await _http.PostAsync("/api/classify", Json(huge));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        var hugeStream = JsonSerializer.Serialize(new { task = "glosses", text = new string('a', 100_000),
            stream = true });
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge,
            (await _http.PostAsync("/api/generate", Json(hugeStream))).StatusCode);
    }

    [Fact]
    public async Task A_cancelled_classification_leaves_the_batcher_serving_the_others()
    {
        using var cancel = new CancellationTokenSource();
        Task<HttpResponseMessage> cancelled, kept;
        await _server.ModelLock.WaitAsync(); // both requests wait in the batcher while one of them is cancelled
        try
        {
            cancelled = _http.PostAsync("/api/classify", Json("{\"task\": \"reviews\", \"text\": \"Cold fries.\"}"),
                cancel.Token);
            kept = _http.PostAsync("/api/classify", Json("{\"task\": \"genres\", \"text\": \"The senate voted.\"}"));
            await Task.Delay(300);
            cancel.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
            await Task.Delay(100);
        }
        finally { _server.ModelLock.Release(); }
        Assert.Equal(HttpStatusCode.OK, (await kept).StatusCode);
        var later = await _http.PostAsync("/api/classify", Json("{\"task\": \"reviews\", \"text\": \"Lovely cake.\"}"));
        Assert.Equal(HttpStatusCode.OK, later.StatusCode);
    }

    private HttpRequestMessage StreamRequest(string text) =>
        new(HttpMethod.Post, "/api/generate") { Content = Json(JsonSerializer.Serialize(new { task = "glosses", text,
            stream = true })) };

    [Fact]
    public async Task Streamed_generation_sends_tokens_as_they_are_made_and_ends_with_the_plain_answer()
    {
        var firstLineRead = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // The server does not decode a second token until the client has read the first: the line is not held back.
        _server.AfterStreamedToken = count => count == 1 ? firstLineRead.Task.WaitAsync(TimeSpan.FromSeconds(10))
            : Task.CompletedTask;
        using var response = await _http.SendAsync(StreamRequest("dog"), HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/x-ndjson", response.Content.Headers.ContentType!.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var lines = new List<JsonElement> { JsonSerializer.Deserialize<JsonElement>((await reader.ReadLineAsync())!) };
        firstLineRead.SetResult();
        while (await reader.ReadLineAsync() is { } line) lines.Add(JsonSerializer.Deserialize<JsonElement>(line));

        var done = lines[^1];
        Assert.True(done.GetProperty("done").GetBoolean());
        var tokens = lines[..^1];
        Assert.Equal(tokens.Count, done.GetProperty("tokens").GetInt32());
        Assert.True(tokens.Count >= 2, $"only {tokens.Count} tokens");
        Assert.Equal(done.GetProperty("text").GetString(),
            string.Concat(tokens.Select(t => t.GetProperty("text").GetString())).Trim());

        var plain = await (await _http.PostAsync("/api/generate",
            Json("{\"task\": \"glosses\", \"text\": \"dog\"}"))).Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(plain.GetProperty("text").GetString(), done.GetProperty("text").GetString());
    }

    [Fact]
    public async Task A_client_that_disconnects_stops_its_stream_and_frees_the_model()
    {
        var disconnected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int produced = 0;
        _server.AfterStreamedToken = async count =>
        {
            produced = count;
            if (count == 1) await disconnected.Task.WaitAsync(TimeSpan.FromSeconds(10));
        };
        using var abort = new CancellationTokenSource();
        using var response = await _http.SendAsync(StreamRequest("cat"), HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        Assert.NotNull(await reader.ReadLineAsync());
        // Abandoning a read mid-body closes the connection, as a browser's fetch abort does (disposing the response
        // instead would let the handler drain the rest to reuse the connection).
        var next = reader.ReadLineAsync(abort.Token).AsTask();
        abort.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => next);
        await Task.Delay(300);
        disconnected.SetResult();

        for (int wait = 0; wait < 100 && _server.StreamsCancelled == 0; wait++) await Task.Delay(50);
        Assert.Equal(1, _server.StreamsCancelled);
        Assert.Equal(1, produced);
        _server.AfterStreamedToken = null;
        var after = await _http.PostAsync("/api/classify", Json("{\"task\": \"reviews\", \"text\": \"Tasty soup.\"}"));
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
    }

    [Fact]
    public async Task A_stream_paused_between_tokens_does_not_hold_up_classification()
    {
        var paused = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var resume = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _server.AfterStreamedToken = async count =>
        {
            if (count != 1) return;
            paused.TrySetResult();
            await resume.Task.WaitAsync(TimeSpan.FromSeconds(30));
        };
        try
        {
            using var response = await _http.SendAsync(StreamRequest("cat"), HttpCompletionOption.ResponseHeadersRead);
            await paused.Task.WaitAsync(TimeSpan.FromSeconds(30));
            // The stream is between its first and second token (a slow reader, say): the model is free meanwhile.
            var classified = await _http.PostAsync("/api/classify",
                Json("{\"task\": \"reviews\", \"text\": \"Tasty soup.\"}"))
                .WaitAsync(TimeSpan.FromSeconds(20));
            Assert.Equal(HttpStatusCode.OK, classified.StatusCode);
            resume.SetResult();
            Assert.Contains("\"done\":true", await response.Content.ReadAsStringAsync());
        }
        finally
        {
            _server.AfterStreamedToken = null;
            resume.TrySetResult();
        }
    }

    [Fact]
    public async Task A_client_that_never_finishes_its_request_is_disconnected_while_others_are_served()
    {
        await using var server = new PromptServer(_loaded.Model, _loaded.Tokenizer!, new ServerOptions { Port = 0,
            TasksRoot = RepositoryData.TasksDirectory, HeadersTimeout = TimeSpan.FromSeconds(1) });
        var url = new Uri(await server.StartAsync());
        using var slow = new System.Net.Sockets.TcpClient();
        await slow.ConnectAsync(url.Host, url.Port);
        var stream = slow.GetStream();
        await stream.WriteAsync(
            Encoding.ASCII.GetBytes("POST /api/classify HTTP/1.1\r\nHost: localhost\r\nContent-Type: appl"));

        using var http = new HttpClient { BaseAddress = url };
        var tasks = await http.GetAsync("/api/tasks"); // others are served while the slow client hangs
        Assert.Equal(System.Net.HttpStatusCode.OK, tasks.StatusCode);

        // Within a few heartbeats the server gives up on the slow client: its connection ends (maybe after a 408).
        var buffer = new byte[4096];
        var read = stream.ReadAsync(buffer).AsTask();
        var finished = await Task.WhenAny(read, Task.Delay(TimeSpan.FromSeconds(15)));
        Assert.Same(read, finished);
        int n = await read;
        Assert.True(n == 0 || Encoding.ASCII.GetString(buffer, 0, n).Contains("408"), Encoding.ASCII.GetString(buffer,
            0, n));
    }

    /// <summary>Prefix tuning (trained with its MLP, served in the final-rows form), deep prompts and LoRA served next
    /// to a soft prompt: each answer is what the trained adapter gives on its own.</summary>
    [Fact]
    public async Task Adapters_of_every_served_method_answer_as_they_do_alone()
    {
        var model = _loaded.Model;
        var adapters = new Dictionary<string, SoftPrompt.Tuning.ITrainableAdapter>
        {
            ["prefix-reviews"] = new SoftPrompt.Tuning.PrefixTuning.PrefixAdapter(model.Config,
                new SoftPrompt.Tuning.PrefixTuning.PrefixTuningOptions(4, Reparameterize: true, MlpHiddenSize: 16,
                    Seed: 5)),
            ["deep-reviews"] = new SoftPrompt.Tuning.PrefixTuning.PrefixAdapter(model.Config,
                SoftPrompt.Tuning.PrefixTuning.PrefixTuningOptions.DeepPrompt(7, seed: 6)),
            ["lora-reviews"] = new SoftPrompt.Tuning.Lora.LoraAdapter(model,
                new SoftPrompt.Tuning.Lora.LoraOptions { Seed = 7 }),
            ["ia3-reviews"] = new SoftPrompt.Tuning.Ia3.Ia3Adapter(model),
        };
        foreach (var t in adapters["lora-reviews"].Trainable) // B starts at zero; make the update visible
        {
            var span = t.Span;
            for (int i = 0; i < span.Length; i++) span[i] = MathF.Sin(i * 0.37f) * 0.3f;
        }
        foreach (var t in adapters["ia3-reviews"].Trainable) // the scales start at one; move them off it
        {
            var span = t.Span;
            for (int i = 0; i < span.Length; i++) span[i] = 1f + MathF.Cos(i * 0.41f) * 0.3f;
        }
        await using var server = new PromptServer(model, _loaded.Tokenizer!, new ServerOptions { Port = 0,
            TasksRoot = RepositoryData.TasksDirectory });
        server.Load("reviews", Path.Combine(_dir.Path, "reviews"));
        foreach (var (name, adapter) in adapters)
        {
            string dir = Path.Combine(_dir.Path, name);
            adapter.Save(dir, "tinystories");
            File.WriteAllText(Path.Combine(dir, PromptAdapterFiles.TaskFile), "{\"task\": \"food-reviews\"}");
            server.Load(name, dir);
        }
        using var http = new HttpClient { BaseAddress = new Uri(await server.StartAsync()) };
        var tasks = await http.GetFromJsonAsync<JsonElement>("/api/tasks");
        Assert.Contains(tasks.EnumerateArray(), t => t.GetProperty("method").GetString() == "PREFIX_TUNING");

        var task = RepositoryData.Classification("food-reviews");
        var names = adapters.Keys.Append("reviews").ToArray();
        var texts = Enumerable.Range(0, 8).Select(i => $"Review {i}: the tea was {(i % 2 == 0 ? "lovely" : "stale")}.")
            .ToArray();
        var calls = texts.SelectMany(t =>
            names.Select(n => (n, t, call: http.PostAsync("/api/classify",
            Json(JsonSerializer.Serialize(new { task = n, text = t })))))).ToList();
        await Task.WhenAll(calls.Select(c => c.call));
        foreach (var (name, text, call) in calls)
        {
            var response = await call;
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var body = await response.Content.ReadFromJsonAsync<JsonElement>();
            var alone = name == "reviews"
                ? new PromptClassifier(model, _loaded.Tokenizer!, task,
                    PromptAdapterFiles.Load(Path.Combine(_dir.Path, "reviews"), model.Config.HiddenSize))
                : new PromptClassifier(model, _loaded.Tokenizer!, task, null) { Adapter = adapters[name] };
            var example = new LabeledExample(new Dictionary<string, string> { ["text"] = text }, task.Labels[0]);
            var scores = alone.LabelScores(new[] { example })[0];
            var probabilities = LabelProbabilities.FromLogProbabilities(scores);
            var served = body.GetProperty("probabilities").EnumerateArray().ToDictionary(p => p.GetProperty("label")
                .GetString()!, p => p.GetProperty("probability").GetDouble());
            for (int l = 0; l < task.Labels.Count; l++) Assert.Equal(probabilities[l], served[task.Labels[l]], 4);
        }
        var nearest = await http.GetAsync("/api/adapters/lora-reviews/nearest");
        Assert.Equal(HttpStatusCode.NotFound, nearest.StatusCode);
    }

    [Fact]
    public async Task A_recorded_training_curve_is_served_with_its_adapter()
    {
        var curve = new SoftPrompt.Training.Progress.TrainingCurve(
            SoftPrompt.Training.Progress.SilentProgress.Instance);
        for (int step = 1; step <= 6; step++) curve.Step(new SoftPrompt.Training.Progress.StepReport(step, 6, 1f / step,
            0.3f, 1f, step, 1, TimeSpan.Zero));
        curve.Evaluated(new SoftPrompt.Training.Progress.EvaluationReport(6, float.NaN, true, new Dictionary<string,
            double> { ["accuracy"] = 0.75 }));
        string dir = Path.Combine(_dir.Path, "with-curve");
        curve.Save(dir);
        var prompt = new PromptEmbedding(3, _loaded.Model.Config.HiddenSize);
        PromptAdapterFiles.Save(dir, prompt, new PromptAdapterFiles.Info("tinystories", 5, 8, "uniform", null,
            "food-reviews"));
        _server.Load("with-curve", dir);

        var body = await _http.GetFromJsonAsync<JsonElement>("/api/adapters/with-curve/curve");
        Assert.Equal(new[] { 1, 2, 3, 4, 5, 6 }, body.GetProperty("steps").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal(0.5, body.GetProperty("loss")[1].GetDouble(), 5);
        Assert.Equal(0.75, body.GetProperty("evaluations")[0].GetProperty("accuracy").GetDouble());
        Assert.Equal(HttpStatusCode.NotFound, (await _http.GetAsync("/api/adapters/reviews/curve")).StatusCode);
    }

    [Fact]
    public async Task A_task_of_the_users_own_fields_is_served_through_its_template()
    {
        // A definition no shipped task has: other field names, a second input field, labels of its own.
        var task = new ClassificationTask("answerable", "Question: {question}\nContext: {context}\nAnswerable?",
            new Dictionary<string, string> { ["answerable"] = " yes", ["unanswerable"] = " no" });
        string dir = Path.Combine(_dir.Path, "answerable");
        var prompt = new PromptEmbedding(3, _loaded.Model.Config.HiddenSize);
        prompt.InitializeUniform(7);
        PromptAdapterFiles.Save(dir, prompt, new PromptAdapterFiles.Info("tinystories", 5, 8, "uniform", null,
            task.Name, task));
        _server.Load("answerable", dir);

        var response = await _http.PostAsync("/api/classify",
            Json("""{"task": "answerable", "text": "Where is the cat?", "context": "The cat sat on the mat."}"""));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        var fields = new Dictionary<string, string> { ["question"] = "Where is the cat?",
            ["context"] = "The cat sat on the mat." };
        var alone = new PromptClassifier(_loaded.Model, _loaded.Tokenizer!, task, prompt)
            .Predict(new[] { new LabeledExample(fields, "answerable") })[0];
        Assert.Equal(alone, body.GetProperty("label").GetString());

        var (status, error) = await Send(_http, new HttpRequestMessage(HttpMethod.Post, "/api/classify")
        {
            Content = Json("""{"task": "answerable", "text": "Where is the cat?"}"""),
        });
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("\"context\"", error);
    }

    private async Task<(HttpStatusCode Status, string Error)> Send(HttpClient http, HttpRequestMessage request)
    {
        using var response = await http.SendAsync(request);
        string body = await response.Content.ReadAsStringAsync();
        string error = body.StartsWith('{') && JsonDocument.Parse(body).RootElement.TryGetProperty("error", out var e)
            ? e.GetString()! : "";
        return (response.StatusCode, error);
    }

    private static HttpRequestMessage Post(string path, string json, string contentType = "application/json") =>
        new(HttpMethod.Post, path) { Content = new StringContent(json, Encoding.UTF8, contentType) };

    [Fact]
    public async Task Requests_a_foreign_page_or_a_rebinding_name_could_send_are_refused()
    {
        // A form or text/plain POST needs no CORS preflight, so any web page could send one: only JSON is taken.
        var (status, error) = await Send(_http, Post("/api/classify", "{\"task\": \"reviews\", \"text\": \"x\"}",
            "text/plain"));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, status);
        Assert.Contains("application/json", error);
        // DNS rebinding: a loopback server answers only to a loopback Host.
        var rebound = new HttpRequestMessage(HttpMethod.Get, "/api/tasks");
        rebound.Headers.Host = "attacker.example";
        Assert.Equal(HttpStatusCode.MisdirectedRequest, (await Send(_http, rebound)).Status);
        // Unloading is as off as loading unless the server was told otherwise, and nothing was unloaded.
        (status, error) = await Send(_http, new HttpRequestMessage(HttpMethod.Delete, "/api/adapters/reviews"));
        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Contains("reviews", _server.TaskNames);
        // A lone surrogate in a field is a client error with a message, not an empty 500.
        (status, error) = await Send(_http, Post("/api/classify", "{\"task\": \"reviews\", \"text\": \"a\\ud800b\"}"));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("\"text\" is not valid Unicode", error);
    }

    [Fact]
    public async Task With_a_key_every_api_request_must_carry_it()
    {
        await using var server = new PromptServer(_loaded.Model, _loaded.Tokenizer!, new ServerOptions { Port = 0,
            TasksRoot = RepositoryData.TasksDirectory, ApiKey = "s3cret" });
        server.Load("reviews", Path.Combine(_dir.Path, "reviews"));
        using var http = new HttpClient { BaseAddress = new Uri(await server.StartAsync()) };
        Assert.Equal(HttpStatusCode.Unauthorized,
            (await Send(http, new HttpRequestMessage(HttpMethod.Get, "/api/tasks"))).Status);
        var wrong = new HttpRequestMessage(HttpMethod.Get, "/api/tasks");
        wrong.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "guess");
        Assert.Equal(HttpStatusCode.Unauthorized, (await Send(http, wrong)).Status);
        var right = new HttpRequestMessage(HttpMethod.Get, "/api/tasks");
        right.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "s3cret");
        Assert.Equal(HttpStatusCode.OK, (await Send(http, right)).Status);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/")).StatusCode); // the page itself holds no data
    }

    [Fact]
    public async Task Loading_over_http_is_confined_to_the_adapters_root_and_never_half_done()
    {
        string root = Path.Combine(_dir.Path, "root");
        string inside = Path.Combine(root, "reviews2");
        var prompt = new PromptEmbedding(4, _loaded.Model.Config.HiddenSize);
        prompt.InitializeUniform(5);
        PromptAdapterFiles.Save(inside, prompt, new PromptAdapterFiles.Info("tinystories", 5, 8, "uniform", null,
            "food-reviews"));
        await using var server = new PromptServer(_loaded.Model, _loaded.Tokenizer!, new ServerOptions { Port = 0,
            TasksRoot = RepositoryData.TasksDirectory, AllowAdapterLoading = true, AdaptersRoot = root });
        using var http = new HttpClient { BaseAddress = new Uri(await server.StartAsync()) };
        string Body(string name, string path, bool replace = false) => JsonSerializer.Serialize(new { name, path,
            replace });

        Assert.Equal(HttpStatusCode.OK, (await Send(http, Post("/api/adapters", Body("mine", "reviews2")))).Status);
        // Outside the root, directly or through a link inside it.
        Assert.Equal(HttpStatusCode.Forbidden,
            (await Send(http, Post("/api/adapters", Body("other", Path.Combine(_dir.Path, "genres"))))).Status);
        Directory.CreateSymbolicLink(Path.Combine(root, "escape"), Path.Combine(_dir.Path, "genres"));
        Assert.Equal(HttpStatusCode.Forbidden,
            (await Send(http, Post("/api/adapters", Body("other", "escape")))).Status);
        // A live adapter is replaced only when asked; names are path-free.
        var (status, error) = await Send(http, Post("/api/adapters", Body("mine", "reviews2")));
        Assert.Equal(HttpStatusCode.Conflict, status);
        Assert.Contains("replace", error);
        Assert.Equal(HttpStatusCode.OK,
            (await Send(http, Post("/api/adapters", Body("mine", "reviews2", replace: true)))).Status);
        Assert.Equal(HttpStatusCode.BadRequest,
            (await Send(http, Post("/api/adapters", Body("a/b", "reviews2")))).Status);
        // A file linked from elsewhere is not read; a failed load leaves the adapter served before.
        string linked = Path.Combine(root, "linked");
        PromptAdapterFiles.Save(linked, prompt, new PromptAdapterFiles.Info("tinystories", 5, 8, "uniform", null,
            "food-reviews"));
        File.Delete(Path.Combine(linked, SoftPrompt.Training.Progress.TrainingCurve.FileName));
        File.CreateSymbolicLink(Path.Combine(linked, SoftPrompt.Training.Progress.TrainingCurve.FileName),
            Path.Combine(inside, PromptAdapterFiles.ConfigFile));
        (status, error) = await Send(http, Post("/api/adapters", Body("mine", "linked", replace: true)));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("symbolic link", error);
        Assert.Equal(HttpStatusCode.OK,
            (await Send(http, Post("/api/classify", "{\"task\": \"mine\", \"text\": \"Fine.\"}"))).Status);
        // Unloading is allowed on this server.
        Assert.Equal(HttpStatusCode.OK,
            (await Send(http, new HttpRequestMessage(HttpMethod.Delete, "/api/adapters/mine"))).Status);
        Assert.Empty(server.TaskNames);
    }

    [Fact]
    public void Adapters_that_could_not_answer_are_refused_at_load()
    {
        int width = _loaded.Model.Config.HiddenSize;
        string nan = Path.Combine(_dir.Path, "nan");
        var prompt = new PromptEmbedding(3, width);
        prompt.Prompt.Span[5] = float.NaN;
        PromptAdapterFiles.Save(nan, prompt, new PromptAdapterFiles.Info("tinystories", 5, 8, "uniform", null,
            "food-reviews"));
        Assert.Contains("not finite", Assert.ThrowsAny<Exception>(() => _server.Load("nan", nan)).Message);
        string huge = Path.Combine(_dir.Path, "huge");
        PromptAdapterFiles.Save(huge, new PromptEmbedding(_loaded.Model.Config.MaxPositions, width),
            new PromptAdapterFiles.Info("tinystories", 5, 8, "uniform", null, "food-reviews"));
        Assert.Contains("room for at most", Assert.ThrowsAny<Exception>(() => _server.Load("huge", huge)).Message);
        Assert.DoesNotContain("nan", _server.TaskNames);
        Assert.DoesNotContain("huge", _server.TaskNames);
    }

    [Fact]
    public async Task A_full_queue_answers_503_at_once()
    {
        await using var server = new PromptServer(_loaded.Model, _loaded.Tokenizer!, new ServerOptions { Port = 0,
            TasksRoot = RepositoryData.TasksDirectory, MaxQueuedRequests = 1 });
        server.Load("reviews", Path.Combine(_dir.Path, "reviews"));
        using var http = new HttpClient { BaseAddress = new Uri(await server.StartAsync()) };
        Task<HttpResponseMessage> first;
        await server.ModelLock.WaitAsync(); // the first request waits for the model, filling the queue
        try
        {
            first = http.PostAsync("/api/classify", Json("{\"task\": \"reviews\", \"text\": \"One.\"}"));
            for (int i = 0; i < 500 && server.Batcher.Queued == 0; i++) await Task.Delay(20);
            var (status, error) = await Send(http,
                Post("/api/classify", "{\"task\": \"reviews\", \"text\": \"Two.\"}"));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
            Assert.Contains("already waiting", error);
        }
        finally { server.ModelLock.Release(); }
        Assert.Equal(HttpStatusCode.OK, (await first).StatusCode);
    }

    [Fact]
    public void The_page_inserts_server_text_as_text_only()
    {
        // Adapter names, labels, tokens, errors and curve keys come from files others may write (issue 19: a folder
        // named <img src=x onerror=...> ran its script): each goes through esc() before it meets innerHTML.
        foreach (var raw in new[] { "${t.name}", "${result.label}", "${p.label}", "${rows.error}", "${k} ${e[k]}",
            "${metric}" })
            Assert.DoesNotContain(raw, WebPage.Html);
        Assert.Contains("const esc = v =>", WebPage.Html);
    }

    [Fact]
    public async Task Request_fields_of_the_wrong_kind_are_400_and_generation_length_follows_the_request()
    {
        var (status, error) = await Send(_http, Post("/api/classify", "{\"text\": \"x\"}"));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("\"task\"", error);
        (status, error) = await Send(_http,
            Post("/api/generate", "{\"task\": \"glosses\", \"text\": \"dog\", \"stream\": \"true\"}"));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("\"stream\" must be true or false", error);
        (status, error) = await Send(_http,
            Post("/api/generate", "{\"task\": \"glosses\", \"text\": \"dog\", \"max_new_tokens\": 100000}"));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("max_new_tokens", error);
        using var response = await _http.PostAsync("/api/generate",
            Json("{\"task\": \"glosses\", \"text\": \"dog\", \"max_new_tokens\": 2}"));
        string text = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("text").GetString()!;
        Assert.True(_loaded.Tokenizer!.Encode(text).Length <= 3, $"'{text}' is longer than 2 new tokens");
    }

    [Fact]
    public async Task The_page_is_served_with_a_policy_that_runs_only_its_own_script()
    {
        using var response = await _http.GetAsync("/");
        string policy = string.Join(";", response.Headers.GetValues("Content-Security-Policy"));
        string html = await response.Content.ReadAsStringAsync();
        int start = html.IndexOf("<script>", StringComparison.Ordinal) + 8;
        string script = html[start..html.IndexOf("</script>", start, StringComparison.Ordinal)];
        string hash = Convert.ToBase64String(System.Security.Cryptography.SHA256.HashData(
            Encoding.UTF8.GetBytes(script)));
        Assert.Contains($"script-src 'sha256-{hash}'", policy);
        Assert.Contains("default-src 'none'", policy);
    }
}
