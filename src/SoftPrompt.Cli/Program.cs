using System.CommandLine;
using SoftPrompt.Cli.Commands;

var root = new RootCommand("softprompt: parameter-efficient adaptation of frozen transformer language models through learned prompts.");
root.Subcommands.Add(BenchCommand.Build());
return CliErrors.Run(() => root.Parse(args).Invoke());
