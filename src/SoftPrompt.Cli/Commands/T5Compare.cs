using System.CommandLine;
using System.Diagnostics;
using SoftPrompt.Data.Tasks;
using SoftPrompt.Engine;
using SoftPrompt.Models;
using SoftPrompt.Models.Formats;
using SoftPrompt.Tuning;
using SoftPrompt.Tuning.Comparison;
using SoftPrompt.Tuning.EncoderDecoder;
using SoftPrompt.Tuning.PrefixTuning;
using SoftPrompt.Tuning.PromptTuning;

namespace SoftPrompt.Cli.Commands;

public static partial class T5Command
{
    private static Command BuildCompare()
    {
        var model = CommonOptions.Model("T5 model directory", "models/t5-small-lm");
        var task = new Option<string>("--task")
        {
            Description = "A task under --data (food-reviews, spam, brown-genre, ...) or a task folder's path "
                + "(train/validation/test.jsonl, task.json)",
            Required = true,
        };
        var data = CommonOptions.Data();
        var onT5 = TuningMethods.For(ModelFamilies.EncoderDecoder).Select(m => m.Name).ToList();
        var methods = new Option<string>("--methods") { Description =
            $"Comma-separated, from: {string.Join(", ", onT5)}",
            DefaultValueFactory = _ => string.Join(",", onT5) };
        var steps = Int("--steps", "Training steps per method", 300);
        var batch = Int("--batch", "Examples per step", 8);
        var promptLength = Int("--prompt-length", "Soft prompt / prefix length", 20);
        var evalExamples = Int("--eval-examples", "Validation examples scored every steps/4", 200);
        var testExamples = Int("--test-examples", "0 = the whole test split", 0);
        var seed = Int("--seed", "Initialisation and sampling seed", 1);
        var threads = Int("--threads", "Threads", Environment.ProcessorCount);
        var report = new Option<string?>("--report")
        {
            Description = "Write the table to this Markdown file, with .csv and .svg beside it",
        };
        var command = new Command("compare",
            "Prompt design, prompt tuning, prefix tuning and fine-tuning of a T5 on a classification task, side by " +
            "side.");
        foreach (var o in new Option[] { model, task, data, methods, steps, batch, promptLength, evalExamples,
            testExamples, seed, threads, report }) command.Options.Add(o);
        command.SetAction(parse =>
        {
            Parallelism.Threads = parse.GetValue(threads);
            string modelPath = parse.GetValue(model)!;
            var (taskName, dir) = TaskFolder.Locate(parse.GetValue(task)!, parse.GetValue(data)!);
            var chosen = T5ComparisonRun.Find(parse.GetValue(methods)!.Split(',',
                StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries));
            ModelLoader.LoadT5(modelPath); // a wrong model fails here, before the task is read
            var classification = TaskDefinition.LoadClassification(dir, taskName);
            int stepCount = parse.GetValue(steps);
            var settings = new MethodSettings
            {
                PromptLength = parse.GetValue(promptLength), Seed = parse.GetValue(seed),
                Training = new PromptTuningOptions { Steps = stepCount, BatchSize = parse.GetValue(batch),
                    EvaluateEvery = Math.Max(1, stepCount / 4), Seed = parse.GetValue(seed) },
            };
            var train = classification.ReadSplit(Path.Combine(dir, "train.jsonl"));
            var validation = TaskFile.EvenSubset(classification.ReadSplit(Path.Combine(dir, "validation.jsonl")),
                parse.GetValue(evalExamples));
            var test = TaskFile.EvenSubset(classification.ReadSplit(Path.Combine(dir, "test.jsonl")),
                parse.GetValue(testExamples));
            string? reportPath = parse.GetValue(report);
            var run = new T5ComparisonRun(modelPath, classification, settings,
                new ConsoleProgress(TimeSpan.FromSeconds(30)), Console.Error.WriteLine,
                table =>
                {
                    if (reportPath is null) return;
                    // after every method, so a long comparison that is stopped keeps its rows
                    table.WriteReport(reportPath);
                    Console.Error.WriteLine($"Wrote {reportPath} and its .csv and .svg.");
                });
            Console.Write(run.Run(chosen, train, validation, test).Markdown());
            return 0;
        });
        return command;
    }
}