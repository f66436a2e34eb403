using System.CommandLine;
using SoftPrompt.Cli;
using SoftPrompt.Cli.Commands;

var root =
    new RootCommand(
    "softprompt: parameter-efficient adaptation of frozen transformer language models through learned prompts.");
root.Subcommands.Add(BenchCommand.Build());
root.Subcommands.Add(GenerateCommand.Build());
root.Subcommands.Add(PretrainCommand.Build());
root.Subcommands.Add(EvalCommand.Build());
root.Subcommands.Add(TuneCommand.Build());
root.Subcommands.Add(TaskCommand.Build());
root.Subcommands.Add(InspectCommand.Build());
root.Subcommands.Add(FuzzCommand.Build());
root.Subcommands.Add(ServeCommand.Build());
root.Subcommands.Add(CompareCommand.Build());
root.Subcommands.Add(VitCommand.Build());
root.Subcommands.Add(T5Command.Build());
// Our own handler turns user errors into one line; System.CommandLine's would print a stack trace.
var invocation = new InvocationConfiguration { EnableDefaultExceptionHandler = false };
return CliErrors.Run(() => root.Parse(args).Invoke(invocation));
