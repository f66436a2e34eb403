using System.CommandLine;
using System.Diagnostics;
using System.Text;
using SoftPrompt.Data.Tasks;
using SoftPrompt.Engine;
using SoftPrompt.Models.Formats;
using SoftPrompt.Tuning.Baselines;
using SoftPrompt.Tuning.PromptTuning;

namespace SoftPrompt.Cli.Commands;

/// <summary>
/// `softprompt compare`: the seeds' side-by-side table on one base model and one classification task — prompt design
/// (zero- and few-shot), prompt tuning, and the fine-tuning baselines (BitFit, top-k layers, full) — with trainable
/// parameters (and % of the base), test accuracy, macro-F1 and wall time. Each method starts from a fresh copy of
/// the base model.
/// </summary>
public static class CompareCommand
{
    private sealed record Row(string Method, long Trainable, double Accuracy, double MacroF1, double Seconds, string? Note);

    public static Command Build()
    {
        var model = new Option<string>("--model") { DefaultValueFactory = _ => "models/base-small" };
        var task = new Option<string>("--task") { DefaultValueFactory = _ => "food-reviews" };
        var data = new Option<string>("--data") { DefaultValueFactory = _ => "data/tasks" };
        var methods = new Option<string>("--methods") { Description = "Comma-separated: zero-shot, few-shot, prompt-tuning, bitfit, top-k, full", DefaultValueFactory = _ => "zero-shot,few-shot,prompt-tuning,bitfit,top-k,full" };
        var steps = new Option<int>("--steps") { DefaultValueFactory = _ => 200 };
        var batch = new Option<int>("--batch") { DefaultValueFactory = _ => 8 };
        var promptLength = new Option<int>("--prompt-length") { DefaultValueFactory = _ => 20 };
        var topLayers = new Option<int>("--top-layers") { DefaultValueFactory = _ => 2 };
        var shots = new Option<int>("--shots") { DefaultValueFactory = _ => 4 };
        var evalExamples = new Option<int>("--eval-examples") { DefaultValueFactory = _ => 200 };
        var testExamples = new Option<int>("--test-examples") { Description = "0 = the whole test split", DefaultValueFactory = _ => 0 };
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => 1 };
        var report = new Option<string?>("--report") { Description = "Also write the table as Markdown to this file" };
        var command = new Command("compare", "Compare prompt design, prompt tuning and fine-tuning baselines on one task.");
        foreach (var o in new Option[] { model, task, data, methods, steps, batch, promptLength, topLayers, shots, evalExamples, testExamples, seed, report })
            command.Options.Add(o);
        command.SetAction(parse =>
        {
            string taskName = parse.GetValue(task)!, dir = Path.Combine(parse.GetValue(data)!, taskName);
            var definition = ClassificationTask.BuiltIn(taskName);
            var train = definition.ReadSplit(Path.Combine(dir, "train.jsonl"));
            var validation = TaskFile.EvenSubset(definition.ReadSplit(Path.Combine(dir, "validation.jsonl")), parse.GetValue(evalExamples));
            var test = definition.ReadSplit(Path.Combine(dir, "test.jsonl"));
            test = TaskFile.EvenSubset(test, parse.GetValue(testExamples));
            var rows = new List<Row>();
            long baseSize = 0;
            foreach (var method in parse.GetValue(methods)!.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                var loaded = ModelLoader.Load(parse.GetValue(model)!); // every method from the same untouched base
                var tokenizer = loaded.Tokenizer ?? throw new FileNotFoundException($"The model at {loaded.Source} has no tokenizer.");
                var frozen = loaded.Model;
                frozen.SetTrainable(false);
                baseSize = frozen.ParameterCount;
                var clock = Stopwatch.StartNew();
                PromptClassifier classifier;
                long trainable = 0;
                string? note = null;
                var options = new PromptTuningOptions
                {
                    Steps = parse.GetValue(steps), BatchSize = parse.GetValue(batch), EvaluateEvery = Math.Max(1, parse.GetValue(steps) / 4), Seed = parse.GetValue(seed),
                };
                switch (method)
                {
                    case "zero-shot":
                        classifier = new PromptClassifier(frozen, tokenizer, definition, null);
                        break;
                    case "few-shot":
                        classifier = new PromptClassifier(frozen, tokenizer, definition, null, definition.FewShotPrefix(train, parse.GetValue(shots), parse.GetValue(seed)));
                        note = $"{parse.GetValue(shots)} in-context examples";
                        break;
                    case "prompt-tuning":
                    {
                        var prompt = new PromptEmbedding(parse.GetValue(promptLength), frozen.Config.HiddenSize);
                        classifier = new PromptClassifier(frozen, tokenizer, definition, prompt);
                        PromptInit.Apply(prompt, PromptInitKind.Labels, frozen.TokenEmbedding, parse.GetValue(seed),
                            PromptInit.MostFrequentTokens(train.Select(classifier.InputTokens), 5000), definition.Labels.Select(l => classifier.LabelTokens[l]).ToList());
                        new PromptTuner<LabeledExample>(classifier, options, new ConsoleProgress(TimeSpan.FromSeconds(30))).Run(train, validation);
                        trainable = prompt.Prompt.Length;
                        note = $"{prompt.Length} vectors, class-label init, Adafactor lr 0.3";
                        break;
                    }
                    case "bitfit" or "top-k" or "full":
                    {
                        var subset = WeightSubset.Select(frozen, method, parse.GetValue(topLayers));
                        classifier = new PromptClassifier(frozen, tokenizer, definition, null);
                        float lr = method == "bitfit" ? 1e-2f : method == "top-k" ? 1e-3f : 3e-4f;
                        new PromptTuner<LabeledExample>(classifier, options with { Optimizer = "adamw", LearningRate = lr, WeightDecay = 0f },
                            new ConsoleProgress(TimeSpan.FromSeconds(30)), subset.Tensors).Run(train, validation);
                        trainable = subset.Count;
                        note = string.Join("; ", new[] { subset.Method, $"AdamW lr {lr}", subset.Note }.Where(s => s is not null));
                        break;
                    }
                    default:
                        throw new ArgumentException($"Unknown method '{method}' (known: zero-shot, few-shot, prompt-tuning, bitfit, top-k, full).");
                }
                var (accuracy, f1) = classifier.Evaluate(test);
                rows.Add(new Row(method, trainable, accuracy, f1, clock.Elapsed.TotalSeconds, note));
                Console.Error.WriteLine($"{method}: accuracy {accuracy:P1}, macro-F1 {f1:F3} ({clock.Elapsed.TotalSeconds:F0} s)");
            }
            string majority = test.GroupBy(e => e.Label).OrderByDescending(g => g.Count()).First().Key;
            double majorityRate = test.Count(e => e.Label == majority) / (double)test.Count;
            var table = new StringBuilder();
            table.AppendLine($"Task {taskName}: {train.Count} train, {test.Count} test examples; majority class \"{majority}\" {majorityRate:P1}. Base: {parse.GetValue(model)} ({baseSize:N0} parameters).");
            table.AppendLine();
            table.AppendLine("| method | trainable params | % of base | test accuracy | macro-F1 | time (s) | notes |");
            table.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: | --- |");
            foreach (var r in rows)
                table.AppendLine($"| {r.Method} | {r.Trainable:N0} | {100.0 * r.Trainable / baseSize:F3}% | {r.Accuracy:P1} | {r.MacroF1:F3} | {r.Seconds:F0} | {r.Note} |");
            Console.Write(table);
            if (parse.GetValue(report) is string path)
            {
                Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
                File.WriteAllText(path, table.ToString());
            }
            return 0;
        });
        return command;
    }
}
