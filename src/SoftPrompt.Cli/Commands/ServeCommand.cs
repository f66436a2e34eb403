using System.CommandLine;
using SoftPrompt.Models.Formats;
using SoftPrompt.Serving;
using SoftPrompt.Tuning.PromptTuning;

namespace SoftPrompt.Cli.Commands;

/// <summary>`softprompt serve`: one frozen model, every adapter under a directory, an HTTP API and a web
/// page.</summary>
public static class ServeCommand
{
    public static Command Build()
    {
        var model = CommonOptions.Model();
        var weights = CommonOptions.InferenceWeights();
        var adapters = new Option<string>("--adapters")
        {
            Description = "Directory whose subdirectories are adapters (name = subdirectory)",
            DefaultValueFactory = _ => "adapters",
        };
        var host = new Option<string>("--host")
        {
            Description = "Address to bind (loopback unless told otherwise)",
            DefaultValueFactory = _ => "127.0.0.1",
        };
        var port = new Option<int>("--port") { DefaultValueFactory = _ => 8080 };
        var allowLoading = new Option<bool>("--allow-adapter-loading")
        {
            Description = "Allow POST /api/adapters and DELETE /api/adapters/NAME (paths inside --adapters only)",
        };
        var apiKeyFile = new Option<string?>("--api-key-file")
        {
            Description =
                "A file whose first line is a key every /api/ request must send as `Authorization: Bearer KEY` (also "
                + "read from $SOFTPROMPT_API_KEY)",
        };
        var maxQueue = new Option<int>("--max-queue")
        {
            Description =
                "Classification requests that may wait for the model; more are answered 503 with Retry-After at once " +
                          "(bounds the wait of admitted requests)",
            DefaultValueFactory = _ => new ServerOptions().MaxQueuedRequests,
        };
        var data =
            CommonOptions.Data(
            "Task folders, for adapters that name a task without keeping its definition (or --task of a load)");
        var tasks = new Option<string[]>("--task")
        {
            Description =
                "The task of adapters that do not say (PEFT-written ones): ADAPTER=TASK for one adapter, or TASK for " +
                "every " +
                          "adapter that names none; TASK is a name under --data or a task folder's path. Repeatable.",
            AllowMultipleArgumentsPerToken = false,
        };
        var command = new Command("serve", "Serve many task adapters over one frozen model: HTTP API and a web page.");
        foreach (var o in new Option[] { model, adapters, host, port, allowLoading, apiKeyFile, maxQueue, data, tasks,
            weights }) command.Options.Add(o);
        command.SetAction(async (parse, cancel) =>
        {
            var loaded = CommonOptions.LoadModel(parse.GetValue(model)!, parse, weights);
            var tokenizer = loaded.Tokenizer ?? throw new FileNotFoundException(
                $"The model at {loaded.Source} has no tokenizer.");
            string root = parse.GetValue(adapters)!;
            int queue = parse.GetValue(maxQueue);
            if (queue < 1) throw new ArgumentException($"--max-queue must be at least 1 (got {queue}).");
            string? apiKey = parse.GetValue(apiKeyFile) is string keyPath
                ? File.ReadLines(keyPath).FirstOrDefault()?.Trim() is { Length: > 0 } k ? k
                    : throw new InvalidDataException($"{keyPath}: the first line holds no key.")
                : Environment.GetEnvironmentVariable("SOFTPROMPT_API_KEY") is { Length: > 0 } e ? e : null;
            var options = new ServerOptions
            {
                Host = parse.GetValue(host)!, Port = parse.GetValue(port), AllowAdapterLoading =
                    parse.GetValue(allowLoading),
                ApiKey = apiKey, AdaptersRoot = root, TasksRoot = parse.GetValue(data),
                MaxQueuedRequests = queue,
            };
            if (!options.IsLoopback && apiKey is null)
                Console.Error.WriteLine(
                    $"warning: serving on {options.Host} without a key: anyone who reaches this port can use the API " +
                    "(give --api-key-file, or bind to 127.0.0.1).");
            var taskOf = new Dictionary<string, string>();
            string? anyTask = null;
            foreach (var given in parse.GetValue(tasks) ?? Array.Empty<string>())
            {
                int equals = given.IndexOf('=');
                if (equals < 0) anyTask = anyTask is null ? given : throw new ArgumentException(
                    $"--task {given}: a second task for every adapter (the first was {anyTask}); give ADAPTER=TASK.");
                else if (equals is 0 || equals == given.Length - 1)
                    throw new ArgumentException($"--task {given}: expected ADAPTER=TASK.");
                else taskOf[given[..equals]] = given[(equals + 1)..];
            }
            await using var server = new PromptServer(loaded.Model, tokenizer, options);
            if (Directory.Exists(root))
                foreach (var dir in Directory.GetDirectories(root).Order())
                    if (File.Exists(Path.Combine(dir, PromptAdapterFiles.ConfigFile)))
                    {
                        try
                        {
                            string name = Path.GetFileName(dir);
                            var served = server.Load(name, dir, taskOf.GetValueOrDefault(name)
                                ?? (PromptAdapterFiles.TaskOf(dir) is null ? anyTask : null));
                            Console.Error.WriteLine(
                                $"loaded {served.Name}: {served.TaskName} ({served.Kind}, {served.Method}" +
                                (served.Prompt is null ? ")" : $", {served.Prompt.Length} prompt vectors)"));
                        }
                        catch (Exception ex) when (
                            ex is IOException or InvalidDataException or ArgumentException or KeyNotFoundException
                                or UnauthorizedAccessException)
                        {
                            Console.Error.WriteLine($"skipped {Path.GetFileName(dir)}: {ex.Message}");
                        }
                    }
            foreach (var unknown in taskOf.Keys.Where(n => !server.TaskNames.Contains(n)))
                Console.Error.WriteLine($"warning: --task {unknown}=…: no adapter named {unknown} was served.");
            string url = await server.StartAsync();
            Console.Error.WriteLine(
                $"serving {server.TaskNames.Count} adapters over {loaded.Source} at {url} (Ctrl-C stops)");
            try { await Task.Delay(Timeout.Infinite, cancel); } catch (OperationCanceledException) { }
            return 0;
        });
        return command;
    }
}
