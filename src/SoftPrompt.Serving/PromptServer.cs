using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SoftPrompt.Data.Tasks;
using SoftPrompt.Data.Tokenizers;
using SoftPrompt.Engine;
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
    /// <summary>When set, every /api/ request must carry `Authorization: Bearer KEY`.</summary>
    public string? ApiKey { get; init; }
    /// <summary>When set, POST /api/adapters loads only directories inside it (symbolic links resolved
    /// first).</summary>
    public string? AdaptersRoot { get; init; }
    /// <summary>Where a task named by an adapter (or by a load request) is looked up: its folder, with
    /// task.json.</summary>
    public string? TasksRoot { get; init; }
    /// <summary>Classification requests waiting for the model beyond this are answered 503 at once.</summary>
    public int MaxQueuedRequests { get; init; } = 256;

    /// <summary>Bound to a loopback address only: then the Host header must name loopback too (no DNS
    /// rebinding).</summary>
    public bool IsLoopback => Host is "localhost" || System.Net.IPAddress.TryParse(Host, out var ip)
        && System.Net.IPAddress.IsLoopback(ip);
}

/// <summary>An adapter name already served, loaded again without asking to replace it.</summary>
public sealed class AdapterNameTakenException(string name)
    : Exception($"An adapter named '{name}' is already served; unload it first or send \"replace\": true.");

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
        _batcher = new ClassificationBatcher(model, _modelLock, maxQueued: options.MaxQueuedRequests);
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
    /// LLaMA-Adapter, bottleneck adapters) under a name; its task from softprompt_task.json unless given.
    /// Nothing is served under the name until every file has been read and a trial request has scored finite (a
    /// failed load leaves what was served before); an adapter of the same name is replaced only when asked.</summary>
    public ServedTask Load(string name, string directory, string? taskName = null, bool replace = true)
    {
        CheckName(name);
        RefuseLinks(directory);
        // The task the request names (a PEFT-written adapter knows none), else the definition the adapter keeps, else
        // the task folder of the name it records.
        taskName ??= PromptAdapterFiles.TaskOf(directory)
                     ?? throw new InvalidDataException(
                         $"{directory}: no {PromptAdapterFiles.TaskFile} says which task the adapter is for; give " +
                         $"the task.");
        var definition = PromptAdapterFiles.DefinitionOf(directory, taskName) is { } kept && kept.Name == taskName
            ? kept : LocateTask(taskName);
        var loaded = AdapterDirectory.Load(directory, _model);
        var served = Build(name, definition, loaded.Prompt, loaded.Adapter, loaded.PeftType);
        string curvePath = Path.Combine(directory, Training.Progress.TrainingCurve.FileName);
        if (File.Exists(curvePath))
        {
            using var curve = Engine.IO.JsonFile.Load(curvePath, maxBytes: 16 << 20);
            if (curve.RootElement.ValueKind != JsonValueKind.Object)
                throw new Engine.IO.ModelFormatException(curvePath,
                    "expected a JSON object with \"steps\" and \"loss\" arrays.");
            served = served with { Curve = curve.RootElement.Clone() };
        }
        if (served.Classifier is not null)
        {
            const string trial = "A short trial text.";
            var scores = _batcher.ScoreAsync(served, served.InputFields(trial, _ => trial), CancellationToken.None,
                bypassLimit: true).GetAwaiter().GetResult();
            if (scores.Any(v => !double.IsFinite(v)))
                throw new InvalidDataException(
                    $"{directory}: a trial request scored NaN or infinity with this adapter (weights that are not " +
                    $"finite, or a scale " +
                    "such as lora_alpha far too large); not served.");
        }
        if (replace) _tasks[name] = served;
        else if (!_tasks.TryAdd(name, served)) throw new AdapterNameTakenException(name);
        return served;
    }

    /// <summary>Adapter names are path-free and short: they appear in URLs and on the web page.</summary>
    public static void CheckName(string name)
    {
        if (name.Length is 0 or > 64 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')
            || name is "." or "..")
            throw new ArgumentException(
                $"Adapter name '{(name.Length > 64 ? name[..64] + "…" : name)}' is not allowed: use 1–64 letters, " +
                $"digits, '-', '_' or '.'.");
    }

    // An adapter's files are read as regular files of its own directory: a symbolic link could make the server read
    // (and echo parts of) any file on the machine.
    private static void RefuseLinks(string directory)
    {
        if (!Directory.Exists(directory))
            throw new DirectoryNotFoundException($"{directory}: no such adapter directory.");
        foreach (var entry in new DirectoryInfo(directory).EnumerateFileSystemInfos())
            if (entry.LinkTarget is not null)
                throw new InvalidDataException(
                    $"{directory}: {entry.Name} is a symbolic link; adapters are read from regular files only.");
    }

    /// <summary>Serves a prompt and/or layer adapter for a task under a name (replacing any adapter of that name).
    /// Requests of tasks with soft prompts or prefixes share batches row by row; other layer adapters batch per
    /// task.</summary>
    public ServedTask Serve(string name, ITaskDefinition task, PromptEmbedding? prompt, IModelAdapter? adapter = null,
        string method = "PROMPT_TUNING")
    {
        CheckName(name);
        var served = Build(name, task, prompt, adapter, method);
        _tasks[name] = served;
        return served;
    }

    /// <summary>A task by name (a folder under the tasks root) or path, from its task.json.</summary>
    private ITaskDefinition LocateTask(string task)
    {
        var folder = TaskFolder.Locate(task, _options.TasksRoot
            ?? throw new InvalidDataException(
                $"Task '{task}': the server has no tasks folder to find its task.json in."));
        return TaskDefinition.Load(folder.Directory, folder.Name);
    }

    private ServedTask Build(string name, ITaskDefinition task, PromptEmbedding? prompt, IModelAdapter? adapter,
        string method) => task switch
    {
        GenerationTask generation => new ServedTask(name, task, method, prompt, adapter, null,
            new PromptGenerator(_model, _tokenizer, generation, prompt) { Adapter = adapter }),
        ClassificationTask classification => new ServedTask(name, task, method, prompt, adapter,
            new PromptClassifier(_model, _tokenizer, classification, prompt) { Adapter = adapter }, null),
        _ => throw new InvalidDataException(
            $"Task {task.Name} is a {task.Kind} task; the server answers classification and generation tasks."),
    };

    /// <summary>Starts listening; returns the address (port 0 picks a free one).</summary>
    public async Task<string> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Limits.MaxRequestBodySize = _options.MaxBodyBytes;
            k.Limits.RequestHeadersTimeout = _options.HeadersTimeout;
            k.Listen(ListenAddress(_options.Host), _options.Port);
        });
        var app = builder.Build();
        app.Use(async (http, next) =>
        {
            if (Guard(http.Request) is { } refusal) { await refusal.ExecuteAsync(http); return; }
            try { await next(http); }
            catch (Exception e) when (!http.Response.HasStarted && !http.RequestAborted.IsCancellationRequested)
            {
                // A bug, not a bad request: its stack goes to the log under an id the client is given.
                string id = Guid.NewGuid().ToString("N")[..12];
                Console.Error.WriteLine(
                    $"[{DateTime.UtcNow:O}] request {id} {http.Request.Method} {http.Request.Path} failed: {e}");
                await Problem(500, $"Internal error (request id {id}); the server log has the details.").ExecuteAsync(
                    http);
            }
        });
        MapRoutes(app);
        await app.StartAsync();
        _app = app;
        return app.Urls.First();
    }

    /// <summary>Refuses what a browser on another site, or a stranger on the network, could send: a Host that is not
    /// loopback on a loopback server (DNS rebinding), an /api/ request without the key when one is set, and a POST
    /// that is not JSON (a form or text/plain body needs no CORS preflight, so any page could send it).</summary>
    private IResult? Guard(HttpRequest request)
    {
        if (_options.IsLoopback && request.Host.Host is not ("localhost" or "127.0.0.1" or "[::1]" or "::1"))
            return Problem(421, $"This server answers only to a loopback Host header, not '{request.Host.Host}'.");
        if (!request.Path.StartsWithSegments("/api")) return null;
        if (_options.ApiKey is { } key)
        {
            string given = request.Headers.Authorization.ToString();
            var expected = System.Text.Encoding.UTF8.GetBytes("Bearer " + key);
            if (!System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(
                System.Text.Encoding.UTF8.GetBytes(given), expected))
                return Problem(401, "Send the server's key as `Authorization: Bearer KEY`.");
        }
        if (HttpMethods.IsPost(request.Method) && request.ContentType?.Split(';')[0].Trim().Equals("application/json",
            StringComparison.OrdinalIgnoreCase) != true)
            return Problem(415, "POST bodies must be JSON with `Content-Type: application/json`.");
        return null;
    }

    private static System.Net.IPAddress ListenAddress(string host) =>
        host == "localhost" ? System.Net.IPAddress.Loopback
        : System.Net.IPAddress.TryParse(host, out var address) ? address
        : throw new OptionException("Host",
            $"{host} is not an IP address (give 127.0.0.1, ::1, 0.0.0.0 or one of this machine's addresses).");

    private void MapRoutes(WebApplication app)
    {
        app.MapGet("/", (HttpContext http) =>
        {
            http.Response.Headers.ContentSecurityPolicy = WebPage.ContentSecurityPolicy;
            http.Response.Headers.XContentTypeOptions = "nosniff";
            return Results.Content(WebPage.Html, "text/html; charset=utf-8");
        });
        app.MapGet("/api/tasks", () => Results.Json(_tasks.Values.OrderBy(t => t.Name).Select(t => new
        {
            name = t.Name, task = t.TaskName, kind = t.Kind, labels = t.Labels, method = t.Method,
            prompt_length = t.Prompt?.Length ?? 0,
        })));
        app.MapPost("/api/classify", async (HttpContext http) =>
        {
            var (request, task, error) = await ReadTaskRequest(http);
            if (error is not null) return error;
            if (task!.Classifier is null) return Problem(400, $"Task '{task.Name}' generates text; use /api/generate.");
            if (InputFields(task, request!, out var fields) is { } incomplete) return incomplete;
            double[] scores;
            try { scores = await _batcher.ScoreAsync(task, fields, http.RequestAborted); }
            catch (ServerBusyException e) { http.Response.Headers.RetryAfter = "1"; return Problem(503, e.Message); }
            var probabilities = LabelProbabilities.FromLogProbabilities(scores);
            int best = Array.IndexOf(probabilities, probabilities.Max());
            return Results.Json(new
            {
                task = task.Name, label = task.Labels[best],
                probabilities = task.Labels.Select((l, i) => new { label = l, probability = Math.Round(probabilities[i],
                    6) }),
            });
        });
        app.MapPost("/api/generate", async (HttpContext http) =>
        {
            var (request, task, error) = await ReadTaskRequest(http);
            if (error is not null) return error;
            if (task!.Generator is null)
                return Problem(400, $"Task '{task.Name}' is a classification task; use /api/classify.");
            if (InputFields(task, request!, out var fields) is { } incomplete) return incomplete;
            var example = new TextExample(fields);
            int maxNew = request!.MaxNewTokens ?? _options.MaxNewTokens;
            if (request.Stream) return await StreamGeneration(http, task.Name, task.Generator, example, maxNew);
            await _modelLock.WaitAsync(http.RequestAborted);
            try { return Results.Json(new { task = task.Name, text = task.Generator.Generate(example, maxNew) }); }
            finally { _modelLock.Release(); }
        });
        app.MapPost("/api/adapters", async (HttpContext http) =>
        {
            if (!_options.AllowAdapterLoading)
                return Problem(403,
                    "Loading adapters over HTTP is off; start the server with --allow-adapter-loading.");
            var (body, error) = await ReadBody(http);
            if (error is not null) return error;
            var (request, problem) = AdapterLoadRequest.Read(body);
            if (problem is not null) return Problem(problem.Status, problem.Message);
            if (ConfinedPath(request!.Path) is not string directory)
                return Problem(403, "Adapters are loaded only from inside the server's adapters root.");
            try
            {
                var served = Load(request.Name, directory, request.Task, request.Replace);
                return Results.Json(new { name = request.Name, task = served.TaskName, kind = served.Kind });
            }
            catch (AdapterNameTakenException e) { return Problem(409, e.Message); }
            catch (Exception e) when (
                e is IOException or InvalidDataException or ArgumentException or KeyNotFoundException)
            {
                return Problem(400, e.Message);
            }
        });
        app.MapDelete("/api/adapters/{name}", (string name) =>
            !_options.AllowAdapterLoading ? Problem(403,
                "Unloading adapters over HTTP is off; start the server with --allow-adapter-loading.")
            : _tasks.TryRemove(name, out _) ? Results.Json(new { unloaded = name }) : Problem(404,
                $"No adapter named '{name}'."));
        app.MapGet("/api/adapters/{name}/curve", (string name) =>
            !_tasks.TryGetValue(name, out var task) ? Problem(404, $"No adapter named '{name}'.")
            : task.Curve is { } curve ? Results.Json(curve)
            : Problem(404, $"Adapter '{name}' recorded no training curve."));
        app.MapGet("/api/adapters/{name}/nearest", (string name) =>
        {
            if (!_tasks.TryGetValue(name, out var task)) return Problem(404, $"No adapter named '{name}'.");
            if (task.Prompt is null)
                return Problem(404, $"Adapter '{name}' ({task.Method}) has no input prompt vectors to show as tokens.");
            var nearest = NearestTokens.Find(task.Prompt.Prompt, _model.TokenEmbedding, 5);
            return Results.Json(nearest.Select((n, i) => new
            {
                vector = i, tokens = n.Select(t => new { token = _tokenizer.TokenText(t.TokenId),
                    cosine = Math.Round(t.Cosine, 3) }),
            }));
        });
    }

    /// <summary>
    /// Streams a generation as NDJSON: one line {"token", "text"} per token as soon as it is decoded ("text" is what
    /// the token adds, possibly empty inside a multi-byte character), then {"done": true, "task", "text", "tokens"}
    /// with the whole output as the non-streaming answer gives it. A client that goes away stops the generation at the
    /// next token.
    /// </summary>
    private async Task<IResult> StreamGeneration(HttpContext http, string name, PromptGenerator generator,
        TextExample example, int maxNewTokens)
    {
        var aborted = http.RequestAborted;
        http.Response.ContentType = "application/x-ndjson; charset=utf-8";
        var decoder = new IncrementalDecoder(_tokenizer);
        var ids = new List<int>();
        try
        {
            // The model is held for one token at a time (the generation keeps its own KV cache), so classification
            // batches and other streams run between tokens instead of waiting for the whole answer, and a slow reader
            // holds nothing while its line is written.
            using var tokens = generator.GenerateTokens(example, maxNewTokens).GetEnumerator();
            while (true)
            {
                await _modelLock.WaitAsync(aborted);
                int id;
                try
                {
                    if (!tokens.MoveNext()) break;
                    id = tokens.Current;
                }
                finally { _modelLock.Release(); }
                await WriteLine(http, new { token = id, text = decoder.Add(id) });
                ids.Add(id);
                if (AfterStreamedToken is { } hook) await hook(ids.Count);
                aborted.ThrowIfCancellationRequested();
            }
            await WriteLine(http, new { done = true, task = name, text = _tokenizer.Decode(ids).Trim(),
                tokens = ids.Count });
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

    /// <summary>The adapter directory a request names, when it lies inside the adapters root (or there is none);
    /// symbolic links are resolved first, so a link inside the root cannot lead out of it.</summary>
    private string? ConfinedPath(string path)
    {
        if (_options.AdaptersRoot is null) return path;
        try
        {
            string root = Path.TrimEndingDirectorySeparator(Canonical(_options.AdaptersRoot, 0))
                + Path.DirectorySeparatorChar;
            string full = Canonical(Path.IsPathRooted(path) ? path : Path.Combine(_options.AdaptersRoot, path), 0);
            return full.StartsWith(root, StringComparison.Ordinal) ? full : null;
        }
        catch (IOException) { return null; } // a cycle of links, or one that cannot be followed
    }

    // The path with every symbolic link along it followed, component by component (a link in a parent folder leads
    // out as surely as a link at the end).
    private static string Canonical(string path, int depth)
    {
        if (depth > 32) throw new IOException($"{path}: too many symbolic links.");
        string full = Path.GetFullPath(path), current = Path.GetPathRoot(full)!;
        foreach (var part in full[current.Length..].Split(Path.DirectorySeparatorChar,
            StringSplitOptions.RemoveEmptyEntries))
        {
            current = Path.Combine(current, part);
            var info = new FileInfo(current);
            if (info.LinkTarget is string target)
                current = Canonical(Path.IsPathRooted(target) ? target : Path.Combine(Path.GetDirectoryName(current)!,
                    target), depth + 1);
        }
        return current;
    }

    /// <summary>The body of a classify or generate request, the served task it names and its text checked against
    /// the server's limit; or the error to answer with.</summary>
    private async Task<(TaskRequest? Request, ServedTask? Task, IResult? Error)> ReadTaskRequest(HttpContext http)
    {
        var (body, error) = await ReadBody(http);
        if (error is not null) return (null, null, error);
        var (request, problem) = TaskRequest.Read(body, _options.MaxNewTokens);
        if (problem is not null) return (null, null, Problem(problem.Status, problem.Message));
        if (!_tasks.TryGetValue(request!.Task, out var task))
            return (null, null, Problem(404, $"Unknown task '{request.Task}'. GET /api/tasks lists them."));
        if (request.Text.Length == 0) return (null, null, Problem(400, "Give a non-empty \"text\"."));
        if (request.Text.Length > _options.MaxInputCharacters)
            return (null, null,
                Problem(413,
                $"\"text\" has {request.Text.Length} characters; the limit is {_options.MaxInputCharacters}."));
        return (request, task, null);
    }

    /// <summary>The template's fields from the request (<see cref="ServedTask.InputFields"/>); a 400 naming a missing
    /// one.</summary>
    private static IResult? InputFields(ServedTask task, TaskRequest request, out Dictionary<string, string> fields)
    {
        try { fields = task.InputFields(request.Text, request.Fields.GetValueOrDefault); return null; }
        catch (ArgumentException e) { fields = new(); return Problem(400, e.Message); }
    }

    private static async Task<(JsonElement Body, IResult? Error)> ReadBody(HttpContext http)
    {
        try
        {
            using var doc = await JsonDocument.ParseAsync(http.Request.Body, cancellationToken: http.RequestAborted);
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                return (default, Problem(400, "The body must be a JSON object."));
            foreach (var field in doc.RootElement.EnumerateObject())
                if (field.Value.ValueKind == JsonValueKind.String && !IsText(field.Value))
                    return (default,
                        Problem(400,
                        $"\"{field.Name}\" is not valid Unicode text (a lone surrogate or invalid UTF-8)."));
            return (doc.RootElement.Clone(), null);
        }
        catch (JsonException e) { return (default, Problem(400, $"The body is not valid JSON: {e.Message}")); }
        catch (BadHttpRequestException e) { return (default, Problem(e.StatusCode, e.Message)); }
    }

    private static bool IsText(JsonElement value)
    {
        try { value.GetString(); return true; }
        catch (InvalidOperationException) { return false; }
    }

    private static IResult Problem(int status, string message) => Results.Json(new { error = message },
        statusCode: status);

    public async ValueTask DisposeAsync()
    {
        if (_app is not null) await _app.DisposeAsync();
        await _batcher.DisposeAsync();
    }
}
