using System.CommandLine;
using SoftPrompt.Models.Formats;
using SoftPrompt.Serving;
using SoftPrompt.Tuning.PromptTuning;

namespace SoftPrompt.Cli.Commands;

/// <summary>`softprompt serve`: one frozen model, every adapter under a directory, an HTTP API and a web page.</summary>
public static class ServeCommand
{
    public static Command Build()
    {
        var model = new Option<string>("--model") { DefaultValueFactory = _ => "models/base-small" };
        var adapters = new Option<string>("--adapters") { Description = "Directory whose subdirectories are adapters (name = subdirectory)", DefaultValueFactory = _ => "adapters" };
        var host = new Option<string>("--host") { Description = "Address to bind (loopback unless told otherwise)", DefaultValueFactory = _ => "127.0.0.1" };
        var port = new Option<int>("--port") { DefaultValueFactory = _ => 8080 };
        var allowLoading = new Option<bool>("--allow-adapter-loading") { Description = "Allow POST /api/adapters to load adapters from paths on this machine" };
        var command = new Command("serve", "Serve many task adapters over one frozen model: HTTP API and a web page.");
        foreach (var o in new Option[] { model, adapters, host, port, allowLoading }) command.Options.Add(o);
        command.SetAction(async (parse, cancel) =>
        {
            var loaded = ModelLoader.Load(parse.GetValue(model)!);
            var tokenizer = loaded.Tokenizer ?? throw new FileNotFoundException($"The model at {loaded.Source} has no tokenizer.");
            await using var server = new PromptServer(loaded.Model, tokenizer, new ServerOptions
            {
                Host = parse.GetValue(host)!, Port = parse.GetValue(port), AllowAdapterLoading = parse.GetValue(allowLoading),
            });
            string root = parse.GetValue(adapters)!;
            if (Directory.Exists(root))
                foreach (var dir in Directory.GetDirectories(root).Order())
                    if (File.Exists(Path.Combine(dir, PromptAdapterFiles.ConfigFile)))
                    {
                        var served = server.Load(Path.GetFileName(dir), dir);
                        Console.Error.WriteLine($"loaded {served.Name}: {served.TaskName} ({served.Kind}, {served.Method}" +
                            (served.Prompt is null ? ")" : $", {served.Prompt.Length} prompt vectors)"));
                    }
            string url = await server.StartAsync();
            Console.Error.WriteLine($"serving {server.TaskNames.Count} adapters over {loaded.Source} at {url} (Ctrl-C stops)");
            try { await Task.Delay(Timeout.Infinite, cancel); } catch (OperationCanceledException) { }
            return 0;
        });
        return command;
    }
}
