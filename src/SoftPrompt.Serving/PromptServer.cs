using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SoftPrompt.Data.Tasks;
using SoftPrompt.Data.Tokenizers;
using SoftPrompt.Models;
using SoftPrompt.Tuning;
using SoftPrompt.Tuning.PromptTuning;

namespace SoftPrompt.Serving;

public sealed record ServerOptions
{
    public string Host { get; init; } = "127.0.0.1";
    public int Port { get; init; } = 8080;
    public int MaxInputCharacters { get; init; } = 20_000;
    public int MaxNewTokens { get; init; } = 256;
    public long MaxBodyBytes { get; init; } = 1 << 16;
    /// <summary>Loading adapters from arbitrary paths over HTTP is off unless turned on.</summary>
    public bool AllowAdapterLoading { get; init; }
    /// <summary>A client that has not sent its whole request head by then is disconnected (slow-loris defence; bodies
    /// that trickle in slower than Kestrel's minimum data rate are cut off likewise).</summary>
    public TimeSpan HeadersTimeout { get; init; } = TimeSpan.FromSeconds(10);
}

/// <summary>
/// `softprompt serve`: one frozen model, many task adapters, over HTTP on the framework's own web server (Kestrel),
/// bound to loopback unless told otherwise. Classification requests of all tasks are batched together dynamically.
/// </summary>
public sealed class PromptServer : IAsyncDisposable
{
    private readonly CausalLanguageModel _model;
    private readonly ITokenizer _tokenizer;
    private readonly ServerOptions _options;
    private readonly ConcurrentDictionary<string, ServedTask> _tasks = new();
    private readonly SemaphoreSlim _modelLock = new(1, 1);
    private readonly ClassificationBatcher _batcher;
    private WebApplication? _app;
    private int _streamsCancelled;

    public PromptServer(CausalLanguageModel model, ITokenizer tokenizer, ServerOptions options)
    {
        _model = model;
        _tokenizer = tokenizer;
        _options = options;
        model.SetTrainable(false);
        _batcher = new ClassificationBatcher(model, _modelLock);
    }

    public ClassificationBatcher Batcher => _batcher;
    /// <summary>Streamed generations stopped because their client went away.</summary>
    public int StreamsCancelled => _streamsCancelled;
    /// <summary>Awaited after each streamed token (with the count so far); tests pause a stream here.</summary>
    internal Func<int, Task>? AfterStreamedToken { get; set; }
    /// <summary>Held by whoever runs the model; tests hold it to make requests queue up into one batch.</summary>
    internal SemaphoreSlim ModelLock => _modelLock;
    public IReadOnlyCollection<string> TaskNames => _tasks.Keys.ToList();

    /// <summary>Loads an adapter directory of any served method (prompt tuning, prefix tuning, deep prompts, LoRA,
    /// LLaMA-Adapter, bottleneck adapters) under a name; its task from softprompt_task.json unless given.</summary>
    public ServedTask Load(string name, string directory, string? taskName = null)
    {
        taskName ??= PromptAdapterFiles.TaskOf(directory)
                     ?? throw new InvalidDataException($"{directory}: no {PromptAdapterFiles.TaskFile} says which task the adapter is for; give the task.");
        var loaded = AdapterDirectory.Load(directory, _model);
        var served = Serve(name, taskName, loaded.Prompt, loaded.Adapter, loaded.PeftType, PromptAdapterFiles.DefinitionOf(directory, taskName));
        string curvePath = Path.Combine(directory, Training.Progress.TrainingCurve.FileName);
        if (!File.Exists(curvePath)) return served;
        using var curve = Engine.IO.JsonFile.Load(curvePath, maxBytes: 16 << 20);
        if (curve.RootElement.ValueKind != System.Text.Json.JsonValueKind.Object)
            throw new Engine.IO.ModelFormatException(curvePath, "expected a JSON object with \"steps\" and \"loss\" arrays.");
        return _tasks[name] = served with { Curve = curve.RootElement.Clone() };
    }

    /// <summary>Serves a prompt and/or layer adapter for a built-in task under a name (replacing any adapter of that name).
    /// Requests of tasks with soft prompts or prefixes share batches row by row; other layer adapters batch per task.</summary>
    /// <param name="definition">The classification task's template and verbalizer (as the adapter keeps them); the
    /// built-in task of that name when null.</param>
    public ServedTask Serve(string name, string taskName, PromptEmbedding? prompt, IModelAdapter? adapter = null, string method = "PROMPT_TUNING",
        ClassificationTask? definition = null)
    {
        var served = GenerationTask.IsBuiltIn(taskName)
            ? new ServedTask(name, taskName, method, prompt, adapter, null,
                new PromptGenerator(_model, _tokenizer, GenerationTask.BuiltIn(taskName), prompt) { Adapter = adapter })
            : new ServedTask(name, taskName, method, prompt, adapter,
                new PromptClassifier(_model, _tokenizer, definition ?? ClassificationTask.BuiltIn(taskName), prompt) { Adapter = adapter }, null);
        _tasks[name] = served;
        return served;
    }

    public bool Unload(string name) => _tasks.TryRemove(name, out _);

    /// <summary>Starts listening; returns the address (port 0 picks a free one).</summary>
    public async Task<string> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Limits.MaxRequestBodySize = _options.MaxBodyBytes;
            k.Limits.RequestHeadersTimeout = _options.HeadersTimeout;
            k.Listen(System.Net.IPAddress.Parse(_options.Host), _options.Port);
        });
        var app = builder.Build();
        MapRoutes(app);
        await app.StartAsync();
        _app = app;
        return app.Urls.First();
    }

    private void MapRoutes(WebApplication app)
    {
        app.MapGet("/", () => Results.Content(WebPage.Html, "text/html; charset=utf-8"));
        app.MapGet("/api/tasks", () => Results.Json(_tasks.Values.OrderBy(t => t.Name).Select(t => new
        {
            name = t.Name, task = t.TaskName, kind = t.Kind, labels = t.Labels, method = t.Method, prompt_length = t.Prompt?.Length ?? 0,
        })));
        app.MapPost("/api/classify", async (HttpContext http) =>
        {
            var (body, error) = await ReadBody(http);
            if (error is not null) return error;
            if (Field(body, "task") is not string name || !_tasks.TryGetValue(name, out var task))
                return Problem(404, $"Unknown task '{Field(body, "task")}'. GET /api/tasks lists them.");
            if (task.Classifier is null) return Problem(400, $"Task '{name}' generates text; use /api/generate.");
            if (CheckText(body, out string text) is { } bad) return bad;
            var scores = await _batcher.ScoreAsync(task, text, http.RequestAborted);
            var probabilities = LabelProbabilities.FromLogProbabilities(scores);
            int best = Array.IndexOf(probabilities, probabilities.Max());
            return Results.Json(new
            {
                task = name, label = task.Labels[best],
                probabilities = task.Labels.Select((l, i) => new { label = l, probability = Math.Round(probabilities[i], 6) }),
            });
        });
        app.MapPost("/api/generate", async (HttpContext http) =>
        {
            var (body, error) = await ReadBody(http);
            if (error is not null) return error;
            if (Field(body, "task") is not string name || !_tasks.TryGetValue(name, out var task))
                return Problem(404, $"Unknown task '{Field(body, "task")}'. GET /api/tasks lists them.");
            if (task.Generator is null) return Problem(400, $"Task '{name}' is a classification task; use /api/classify.");
            if (CheckText(body, out string text) is { } bad) return bad;
            var example = new TextExample(new Dictionary<string, string> { ["word"] = text, ["pos"] = Field(body, "pos") ?? "noun", ["text"] = text });
            bool stream = body.TryGetProperty("stream", out var streamField) && streamField.ValueKind == JsonValueKind.True;
            await _modelLock.WaitAsync(http.RequestAborted);
            try
            {
                return stream ? await StreamGeneration(http, name, task.Generator, example) : Results.Json(new { task = name, text = task.Generator.Generate(example) });
            }
            finally { _modelLock.Release(); }
        });
        app.MapPost("/api/adapters", async (HttpContext http) =>
        {
            if (!_options.AllowAdapterLoading) return Problem(403, "Loading adapters over HTTP is off; start the server with --allow-adapter-loading.");
            var (body, error) = await ReadBody(http);
            if (error is not null) return error;
            if (Field(body, "name") is not string name || Field(body, "path") is not string path)
                return Problem(400, "Give \"name\" and \"path\" of the adapter directory.");
            try
            {
                var served = Load(name, path, Field(body, "task"));
                return Results.Json(new { name, task = served.TaskName, kind = served.Kind });
            }
            catch (Exception e) when (e is IOException or InvalidDataException or ArgumentException or KeyNotFoundException)
            {
                return Problem(400, e.Message);
            }
        });
        app.MapDelete("/api/adapters/{name}", (string name) =>
            _tasks.TryRemove(name, out _) ? Results.Json(new { unloaded = name }) : Problem(404, $"No adapter named '{name}'."));
        app.MapGet("/api/adapters/{name}/curve", (string name) =>
            !_tasks.TryGetValue(name, out var task) ? Problem(404, $"No adapter named '{name}'.")
            : task.Curve is { } curve ? Results.Json(curve)
            : Problem(404, $"Adapter '{name}' recorded no training curve."));
        app.MapGet("/api/adapters/{name}/nearest", (string name) =>
        {
            if (!_tasks.TryGetValue(name, out var task)) return Problem(404, $"No adapter named '{name}'.");
            if (task.Prompt is null) return Problem(404, $"Adapter '{name}' ({task.Method}) has no input prompt vectors to show as tokens.");
            var nearest = NearestTokens.Find(task.Prompt.Prompt, _model.TokenEmbedding, 5);
            return Results.Json(nearest.Select((n, i) => new
            {
                vector = i, tokens = n.Select(t => new { token = _tokenizer.TokenText(t.TokenId), cosine = Math.Round(t.Cosine, 3) }),
            }));
        });
    }

    /// <summary>
    /// Streams a generation as NDJSON: one line {"token", "text"} per token as soon as it is decoded ("text" is what the
    /// token adds, possibly empty inside a multi-byte character), then {"done": true, "task", "text", "tokens"} with the
    /// whole output as the non-streaming answer gives it. A client that goes away stops the generation at the next token.
    /// </summary>
    private async Task<IResult> StreamGeneration(HttpContext http, string name, PromptGenerator generator, TextExample example)
    {
        var aborted = http.RequestAborted;
        http.Response.ContentType = "application/x-ndjson; charset=utf-8";
        var decoder = new IncrementalDecoder(_tokenizer);
        var ids = new List<int>();
        try
        {
            foreach (int id in generator.GenerateTokens(example))
            {
                await WriteLine(http, new { token = id, text = decoder.Add(id) });
                ids.Add(id);
                if (AfterStreamedToken is { } hook) await hook(ids.Count);
                aborted.ThrowIfCancellationRequested();
            }
            await WriteLine(http, new { done = true, task = name, text = _tokenizer.Decode(ids).Trim(), tokens = ids.Count });
        }
        catch (Exception e) when (aborted.IsCancellationRequested && e is OperationCanceledException or IOException)
        {
            Interlocked.Increment(ref _streamsCancelled);
        }
        return Results.Empty;
    }

    private static async Task WriteLine(HttpContext http, object line)
    {
        await http.Response.Body.WriteAsync(JsonSerializer.SerializeToUtf8Bytes(line), http.RequestAborted);
        await http.Response.Body.WriteAsync("\n"u8.ToArray(), http.RequestAborted);
        await http.Response.Body.FlushAsync(http.RequestAborted);
    }

    private IResult? CheckText(JsonElement body, out string text)
    {
        text = Field(body, "text") ?? "";
        if (text.Length == 0) return Problem(400, "Give a non-empty \"text\".");
        if (text.Length > _options.MaxInputCharacters) return Problem(413, $"\"text\" has {text.Length} characters; the limit is {_options.MaxInputCharacters}.");
        return null;
    }

    private static async Task<(JsonElement Body, IResult? Error)> ReadBody(HttpContext http)
    {
        try
        {
            using var doc = await JsonDocument.ParseAsync(http.Request.Body, cancellationToken: http.RequestAborted);
            if (doc.RootElement.ValueKind != JsonValueKind.Object) return (default, Problem(400, "The body must be a JSON object."));
            return (doc.RootElement.Clone(), null);
        }
        catch (JsonException e) { return (default, Problem(400, $"The body is not valid JSON: {e.Message}")); }
        catch (BadHttpRequestException e) { return (default, Problem(e.StatusCode, e.Message)); }
    }

    private static string? Field(JsonElement body, string name) =>
        body.ValueKind == JsonValueKind.Object && body.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static IResult Problem(int status, string message) => Results.Json(new { error = message }, statusCode: status);

    public async ValueTask DisposeAsync()
    {
        if (_app is not null) await _app.DisposeAsync();
        await _batcher.DisposeAsync();
    }
}
