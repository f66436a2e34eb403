using System.CommandLine;
using System.Diagnostics;
using SoftPrompt.Data.Tasks;
using SoftPrompt.Data.Tokenizers;
using SoftPrompt.Models.Formats;
using SoftPrompt.Tuning;
using SoftPrompt.Tuning.Comparison;
using SoftPrompt.Tuning.Cloze;
using SoftPrompt.Tuning.Heads;
using SoftPrompt.Tuning.PTuning;
using SoftPrompt.Tuning.PromptTuning;

namespace SoftPrompt.Cli.Commands;

/// <summary>
/// `softprompt compare`: the seeds' side-by-side table on one base model and one task — every method of the registry
/// (<see cref="TuningMethods"/>) from a fresh copy of the base, trained with the same steps and batch, scored on the
/// test split: trainable parameters (and % of the base), bytes a task stores, the task's metrics, time, steps and
/// throughput; written as Markdown, CSV and an SVG chart. A decoder reads a label as the verbalizer's next tokens; an
/// encoder (BERT) reads it at the [MASK] of the task's cloze template, and runs only the methods that fit an encoder.
/// </summary>
public static class CompareCommand
{
    public static Command Build()
    {
        var model = CommonOptions.Model();
        var task = new Option<string>("--task")
        {
            Description = "A task under --data (food-reviews, spam, brown-genre, ...) or a task folder's path "
                + "(train/validation/test.jsonl, task.json)",
            Required = true,
        };
        var data = CommonOptions.Data();
        var methods = new Option<string?>("--methods")
        {
            Description =
                $"Comma-separated, from: " +
                    $"{string.Join(", ", TuningMethods.For(ModelFamilies.Decoder).Select(m => m.Name))}. Default: " +
                          $"{string.Join(",", TuningMethods.Defaults(ModelFamilies.Decoder).Select(m => m.Name))} on " +
                              $"a decoder, every method that runs on an encoder on a BERT " +
                          "(those that fit the task)",
        };
        var steps = new Option<int>("--steps") { DefaultValueFactory = _ => 200 };
        var batch = new Option<int>("--batch") { DefaultValueFactory = _ => 8 };
        var promptLength = new Option<int>("--prompt-length") { DefaultValueFactory = _ => 20 };
        var topLayers = new Option<int>("--top-layers") { DefaultValueFactory = _ => 2 };
        var shots = new Option<int>("--shots") { DefaultValueFactory = _ => 4 };
        var trainSize = new Option<int>("--train-size")
        {
            Description = "Train on this many examples (low-data mode; 0 = all)",
            DefaultValueFactory = _ => 0,
        };
        var evalExamples = new Option<int>("--eval-examples") { DefaultValueFactory = _ => 200 };
        var testExamples = new Option<int>("--test-examples")
        {
            Description = "0 = the whole test split",
            DefaultValueFactory = _ => 0,
        };
        var seed = CommonOptions.Seed();
        var report = new Option<string?>("--report")
        {
            Description = "Write the table to this Markdown file, with .csv and .svg beside it",
        };
        var adapters = new Option<string?>("--save-adapters")
        {
            Description = "Keep each method's adapter directory under this folder",
        };
        var threads = CommonOptions.Threads();
        var loss = new Option<string>("--loss")
        {
            Description =
                "Classification loss of every method scored by label words: labels (softmax over the labels' tokens "
                + "where they part, as PET), vocabulary (over every token, as Lester et al.) or auto (labels where the "
                + "labels part at one token)",
            DefaultValueFactory = _ => "auto",
        };
        var command = new Command("compare",
            "Compare prompt design, prompt methods and fine-tuning baselines on one task.");
        foreach (var o in new Option[] { model, task, data, methods, steps, batch, promptLength, topLayers, shots,
            trainSize, evalExamples, testExamples, seed, report, adapters, threads, loss })
            command.Options.Add(o);
        command.SetAction(parse =>
        {
            Engine.Parallelism.Threads = parse.GetValue(threads);
            var (taskName, dir) = TaskFolder.Locate(parse.GetValue(task)!, parse.GetValue(data)!);
            string modelPath = parse.GetValue(model)!;
            var taskDefinition = TaskDefinition.Load(dir, taskName);
            bool generation = taskDefinition is GenerationTask, tagging = taskDefinition is TaggingTask;
            var family = ModelFamily.Of(ModelLoader.Load(modelPath).Transformer);
            if (generation && family == ModelFamilies.Encoder)
                throw new NotSupportedException(
                    $"{taskName} is a generation task and {modelPath} is {ModelFamily.Describe(family)}, which does " +
                    $"not generate text.");
            // Named methods must run on the model (one that does not is refused by name); the defaults are the family's
            // methods that fit the task.
            var chosen = parse.GetValue(methods) is string names
                ? names.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(n =>
                    TuningMethods.Find(n, family)).ToList()
                : TuningMethods.Defaults(family).Where(m => tagging ? m.SupportsHeads : !generation
                    || m.SupportsGeneration).ToList();
            var settings = new MethodSettings
            {
                PromptLength = parse.GetValue(promptLength), TopLayers = parse.GetValue(topLayers),
                Shots = parse.GetValue(shots), Seed = parse.GetValue(seed),
                Loss = ClassificationLosses.Parse(parse.GetValue(loss)!),
                Training = new PromptTuningOptions
                {
                    Steps = parse.GetValue(steps), BatchSize = parse.GetValue(batch), EvaluateEvery = Math.Max(1,
                        parse.GetValue(steps) / 4), Seed = parse.GetValue(seed),
                },
            };
            string? path = parse.GetValue(report);
            // The report is rewritten after every method, so a long comparison that is stopped keeps the rows it made.
            void Write(ComparisonTable table)
            {
                if (path is null) return;
                table.WriteReport(path);
                Console.Error.WriteLine($"Wrote {path} and its .csv and .svg.");
            }
            var run = new ComparisonRun(modelPath, family, settings, parse.GetValue(trainSize),
                parse.GetValue(evalExamples), parse.GetValue(testExamples),
                parse.GetValue(adapters), new ConsoleProgress(TimeSpan.FromSeconds(30)), Write);
            var table = taskDefinition switch
            {
                GenerationTask g => run.Generation(g, dir, chosen),
                TaggingTask t => run.Tagging(t, dir, chosen),
                _ => run.Classification(TaskDefinition.AsClassification(taskDefinition,
                    Path.Combine(dir, TaskDefinition.FileName)), dir, chosen),
            };
            Console.Write(table.Markdown());
            return 0;
        });
        return command;
    }
}
