using System.CommandLine;
using SoftPrompt.Data.Tasks;

namespace SoftPrompt.Cli.Commands;

/// <summary>`softprompt task check DIR`: a task folder's problems and numbers, before any training.</summary>
public static class TaskCommand
{
    public static Command Build()
    {
        var folder = new Argument<string>("task") { Description =
            "A task folder (train/validation/test.jsonl, optional task.json) or a name under --data" };
        var data = CommonOptions.Data();
        var check = new Command("check",
            "Read every row of a task: counts, label shares, the majority rate to beat, lengths, and each bad row by " +
            "file and line.");
        check.Arguments.Add(folder);
        check.Options.Add(data);
        check.SetAction(parse =>
        {
            var report = TaskCheck.Run(TaskFolder.Locate(parse.GetValue(folder)!, parse.GetValue(data)!));
            Console.WriteLine(Describe(report));
            return report.Problems.Count == 0 ? 0 : 1;
        });
        var command = new Command("task", "Work with task folders.");
        command.Subcommands.Add(check);
        return command;
    }

    public static string Describe(TaskCheckReport report)
    {
        var lines = new List<string>();
        var d = report.Definition;
        lines.Add($"Task {report.Folder.Name} ({report.Folder.Directory}): " + (d is null
            ? (report.Kind is null ? "no readable task.json" : $"a {report.Kind} task") + "; rows checked as JSON only."
            : $"classification, label field \"{d.LabelField}\", template {Quote(d.Template)}, " +
              string.Join(", ", d.Verbalizer.Select(p => $"{p.Key} → {Quote(p.Value)}")) + "."));
        var labels = d?.Labels ?? Array.Empty<string>();
        lines.Add("");
        lines.Add($"{"split",-11}{"rows",8}" + string.Concat(labels.Select(l => $"{Clip(l),12}"))
            + "   characters min / median / max");
        foreach (var s in report.Splits)
            lines.Add($"{s.Split,-11}{s.Rows,8:N0}" + string.Concat(
                labels.Select(l => $"{(s.Rows == 0 ? 0 : 100.0 * s.Labels.GetValueOrDefault(l) / s.Rows),11:F1}%")) +
                      (d is null ? "" : $"   {s.MinChars:N0} / {s.MedianChars:N0} / {s.MaxChars:N0}"));
        lines.Add("");
        if (report.Majority is var (label, share))
            lines.Add(
                $"Majority label \"{label}\" (most common in train): {share:P1} of the test rows. A model has to " +
                $"beat that.");
        if (d is not null) lines.Add($"Inputs found in two splits: {report.TextsInTwoSplits:N0}.");
        lines.Add(report.Problems.Count == 0 ? "No problems found." : $"{report.Problems.Count} problem(s):");
        lines.AddRange(report.Problems.Select(p => "  - " + p));
        return string.Join("\n", lines);
    }

    private static string Quote(string text) => System.Text.Json.JsonSerializer.Serialize(text.Length > 60 ? text[..60]
        + "…" : text);
    private static string Clip(string label) => label.Length > 11 ? label[..10] + "…" : label;
}
