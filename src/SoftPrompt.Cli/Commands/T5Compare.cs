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
        var task = new Option<string>("--task") { Description = "A task under --data (food-reviews, spam, brown-genre, ...) or a task folder's path (train/validation/test.jsonl, task.json)", Required = true };
        var data = CommonOptions.Data();
        var methods = new Option<string>("--methods") { Description = $"Comma-separated, from: {string.Join(", ", T5Methods.All.Select(m => m.Name))}", DefaultValueFactory = _ => string.Join(",", T5Methods.All.Select(m => m.Name)) };
        var steps = Int("--steps", "Training steps per method", 300);
        var batch = Int("--batch", "Examples per step", 8);
        var promptLength = Int("--prompt-length", "Soft prompt / prefix length", 20);
        var evalExamples = Int("--eval-examples", "Validation examples scored every steps/4", 200);
        var testExamples = Int("--test-examples", "0 = the whole test split", 0);
        var seed = Int("--seed", "Initialisation and sampling seed", 1);
        var threads = Int("--threads", "Threads", Environment.ProcessorCount);
        var report = new Option<string?>("--report") { Description = "Write the table to this Markdown file, with .csv and .svg beside it" };
        var command = new Command("compare", "Prompt design, prompt tuning, prefix tuning and fine-tuning of a T5 on a classification task, side by side.");
        foreach (var o in new Option[] { model, task, data, methods, steps, batch, promptLength, evalExamples, testExamples, seed, threads, report }) command.Options.Add(o);
        command.SetAction(parse =>
        {
            Parallelism.Threads = parse.GetValue(threads);
            string modelPath = parse.GetValue(model)!;
            var (taskName, dir) = TaskFolder.Locate(parse.GetValue(task)!, parse.GetValue(data)!);
            var chosen = parse.GetValue(methods)!.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                .Select(name => T5Methods.All.FirstOrDefault(m => m.Name == name)
                    ?? throw new ArgumentException($"Unknown T5 method '{name}' (known: {string.Join(", ", T5Methods.All.Select(m => m.Name))}).")).ToList();
            ModelLoader.LoadT5(modelPath); // a wrong model fails here, before minutes of reading and training
            var classification = TaskDefinition.LoadClassification(dir, taskName);
            int stepCount = parse.GetValue(steps);
            var settings = new MethodSettings
            {
                PromptLength = parse.GetValue(promptLength), Seed = parse.GetValue(seed),
                Training = new PromptTuningOptions { Steps = stepCount, BatchSize = parse.GetValue(batch), EvaluateEvery = Math.Max(1, stepCount / 4), Seed = parse.GetValue(seed) },
            };
            var train = classification.ReadSplit(Path.Combine(dir, "train.jsonl"));
            var validation = TaskFile.EvenSubset(classification.ReadSplit(Path.Combine(dir, "validation.jsonl")), parse.GetValue(evalExamples));
            var test = TaskFile.EvenSubset(classification.ReadSplit(Path.Combine(dir, "test.jsonl")), parse.GetValue(testExamples));
            string majority = test.GroupBy(e => e.Label).OrderByDescending(g => g.Count()).First().Key;

            var rows = new List<ComparisonRow>();
            long baseSize = 0;
            foreach (var method in chosen)
            {
                if (method.Prepare is null)
                {
                    rows.Add(ModelFreeRow(method, classification, train, validation, test));
                    continue;
                }
                var loaded = ModelLoader.LoadT5(modelPath); // every method from the same untouched base
                var tokenizer = loaded.Tokenizer ?? throw new FileNotFoundException($"The model at {modelPath} has no tokenizer.json.");
                var frozen = loaded.Model;
                frozen.SetTrainable(false);
                baseSize = frozen.ParameterCount;
                var setup = method.Prepare!(frozen, classification, tokenizer, settings);
                var clock = Stopwatch.StartNew();
                int trainedSteps = 0;
                double tokensPerSecond = 0;
                if (setup.Training is { } training)
                {
                    Console.Error.WriteLine($"{method.Name}: {method.Description}");
                    var result = new PromptTuner<LabeledExample>(setup.Classifier, training, new ConsoleProgress(TimeSpan.FromSeconds(30)), setup.Trainable).Run(train, validation);
                    trainedSteps = result.Steps;
                    double meanTokens = train.Take(200).Average(e => setup.Classifier.InputTokens(e).Length);
                    tokensPerSecond = trainedSteps * training.BatchSize * meanTokens / Math.Max(clock.Elapsed.TotalSeconds, 1e-9);
                }
                var (accuracy, f1, labelLoss) = setup.Classifier.Metrics(test);
                double exact = setup.Classifier.ExactMatch(test);
                rows.Add(new ComparisonRow(method.Name, setup.Trainable.Sum(t => (long)t.Length), setup.StoredValues * sizeof(float),
                    [accuracy, f1, exact, labelLoss], clock.Elapsed.TotalSeconds, trainedSteps, tokensPerSecond, method.Description));
                Console.Error.WriteLine($"{method.Name}: accuracy {accuracy:F4}, macro-F1 {f1:F4}, exact match {exact:F4}, gold-label loss {labelLoss:F3} ({clock.Elapsed.TotalSeconds:F0} s)");
                // rewritten after every method, so a long comparison that is stopped keeps the rows it made
                if (parse.GetValue(report) is string partial)
                {
                    Table().WriteReport(partial);
                    Console.Error.WriteLine($"Wrote {partial} and its .csv and .svg.");
                }
            }
            Console.Write(Table().Markdown());
            return 0;

            ComparisonTable Table() => new(
                $"Task {taskName}: {train.Count} train, {test.Count} test examples; majority class \"{majority}\" " +
                $"{test.Count(e => e.Label == majority) / (double)test.Count:P1}. Accuracy ranks the labels by the decoder's log-probability; " +
                $"exact match is greedy decoding producing the gold label word then </s>; label loss is −log Pr(gold label, </s>) per token " +
                $"(lower is better). Base: {modelPath} ({baseSize:N0} parameters).",
                ["accuracy", "macro-F1", "exact match", "label loss"], baseSize, rows);
        });
        return command;
    }

    /// <summary>The bag-of-words baseline's row: accuracy and macro-F1; exact match and label loss need a decoder (–).</summary>
    private static ComparisonRow ModelFreeRow(T5Method method, ClassificationTask task, List<LabeledExample> train, List<LabeledExample> validation,
        List<LabeledExample> test)
    {
        var clock = Stopwatch.StartNew();
        var bow = new Tuning.BagOfWords.BagOfWordsClassifier(task);
        bow.Fit(train, validation);
        var (accuracy, f1) = LabelPredictorExtensions.Score(test, test.Select(bow.Predict).ToArray(), task.Labels);
        Console.Error.WriteLine($"{method.Name}: accuracy {accuracy:F4}, macro-F1 {f1:F4} ({clock.Elapsed.TotalSeconds:F0} s)");
        return new ComparisonRow(method.Name, bow.ParameterCount, 0, [accuracy, f1, double.NaN, double.NaN], clock.Elapsed.TotalSeconds, 0, 0,
            $"{method.Description}; {bow.FeatureCount:N0} n-grams");
    }
}