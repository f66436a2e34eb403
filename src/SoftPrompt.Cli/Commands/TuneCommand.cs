using System.CommandLine;
using System.Diagnostics;
using SoftPrompt.Data.Tasks;
using SoftPrompt.Engine;
using SoftPrompt.Models.Formats;
using SoftPrompt.Training.Schedules;
using SoftPrompt.Tuning.PromptTuning;

namespace SoftPrompt.Cli.Commands;

/// <summary>
/// `softprompt tune`: Lester et al.'s prompt tuning of a frozen model on a classification task, then test accuracy
/// against the zero-shot prompt design and the majority class; the prompt is saved as a PEFT adapter directory.
/// </summary>
public static class TuneCommand
{
    public static Command Build()
    {
        var model = new Option<string>("--model") { Description = "Frozen base model directory", DefaultValueFactory = _ => "models/base-small" };
        var task = new Option<string>("--task") { Description = "Task name (food-reviews, brown-genre)", DefaultValueFactory = _ => "food-reviews" };
        var data = new Option<string>("--data") { Description = "Directory holding <task>/{train,validation,test}.jsonl", DefaultValueFactory = _ => "data/tasks" };
        var output = new Option<string>("--out") { Description = "Adapter output directory (default adapters/<task>)" };
        var length = new Option<int>("--prompt-length") { DefaultValueFactory = _ => 20 };
        var init = new Option<string>("--init") { Description = "uniform, vocab, labels or text", DefaultValueFactory = _ => "vocab" };
        var initText = new Option<string?>("--init-text") { Description = "Text for --init text" };
        var steps = new Option<int>("--steps") { DefaultValueFactory = _ => 200 };
        var batch = new Option<int>("--batch") { DefaultValueFactory = _ => 8 };
        var lr = new Option<float>("--lr") { DefaultValueFactory = _ => 0.3f };
        var optimizerName = new Option<string>("--optimizer") { Description = "adafactor (Lester et al.) or adamw", DefaultValueFactory = _ => "adafactor" };
        var schedule = new Option<string>("--schedule") { Description = "constant, linear or cosine", DefaultValueFactory = _ => "constant" };
        var warmup = new Option<int>("--warmup") { Description = "Linear warm-up steps", DefaultValueFactory = _ => 0 };
        var accumulate = new Option<int>("--accumulate") { Description = "Micro-batches per update", DefaultValueFactory = _ => 1 };
        var patience = new Option<int>("--patience") { Description = "Stop after this many evaluations without improvement (0: never)", DefaultValueFactory = _ => 0 };
        var resume = new Option<bool>("--resume") { Description = "Continue from the checkpoint in --out" };
        var evalEvery = new Option<int>("--eval-every") { DefaultValueFactory = _ => 50 };
        var evalExamples = new Option<int>("--eval-examples") { Description = "Validation examples per evaluation", DefaultValueFactory = _ => 200 };
        var testExamples = new Option<int>("--test-examples") { Description = "Test examples scored at the end (0 = all)", DefaultValueFactory = _ => 0 };
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => 1 };
        var threads = new Option<int>("--threads") { DefaultValueFactory = _ => Environment.ProcessorCount };

        var command = new Command("tune", "Prompt-tune a frozen model on a classification task and save the prompt as a PEFT adapter.");
        foreach (var o in new Option[] { model, task, data, output, length, init, initText, steps, batch, lr, optimizerName, schedule, warmup, accumulate, patience, resume, evalEvery, evalExamples, testExamples, seed, threads })
            command.Options.Add(o);
        command.SetAction(parse =>
        {
            Parallelism.Threads = parse.GetValue(threads);
            string taskName = parse.GetValue(task)!, taskDir = Path.Combine(parse.GetValue(data)!, taskName);
            var loaded = ModelLoader.Load(parse.GetValue(model)!);
            var tokenizer = loaded.Tokenizer ?? throw new FileNotFoundException($"The model at {loaded.Source} has no tokenizer.");
            var definition = ClassificationTask.BuiltIn(taskName);
            var train = definition.ReadSplit(Path.Combine(taskDir, "train.jsonl"));
            var validation = Take(definition.ReadSplit(Path.Combine(taskDir, "validation.jsonl")), parse.GetValue(evalExamples));
            var test = Take(definition.ReadSplit(Path.Combine(taskDir, "test.jsonl")), parse.GetValue(testExamples));
            var frozen = loaded.Model;
            frozen.SetTrainable(false);

            var zeroShot = new PromptClassifier(frozen, tokenizer, definition, prompt: null);
            var prompt = new PromptEmbedding(parse.GetValue(length), frozen.Config.HiddenSize);
            var classifier = new PromptClassifier(frozen, tokenizer, definition, prompt);
            string initName = parse.GetValue(init)!;
            var frequent = PromptInit.MostFrequentTokens(train.Select(classifier.InputTokens), 5000);
            PromptInit.Apply(prompt, PromptInit.Parse(initName), frozen.TokenEmbedding, parse.GetValue(seed), frequent,
                definition.Labels.Select(l => classifier.LabelTokens[l]).ToList(),
                parse.GetValue(initText) is string text ? tokenizer.Encode(text) : null);

            Console.Error.WriteLine($"Task {taskName}: {train.Count} train, {validation.Count} validation, {test.Count} test examples; " +
                                    $"{prompt.Length} × {prompt.Prompt.Dim(1)} = {prompt.Prompt.Length:N0} trainable values ({100.0 * prompt.Prompt.Length / frozen.ParameterCount:F3}% of {frozen.ParameterCount:N0}).");
            var clock = Stopwatch.StartNew();
            string outDir = parse.GetValue(output) ?? Path.Combine("adapters", taskName);
            var tuner = new PromptTuner(classifier, new PromptTuningOptions
            {
                Steps = parse.GetValue(steps), BatchSize = parse.GetValue(batch), AccumulationSteps = parse.GetValue(accumulate),
                Optimizer = parse.GetValue(optimizerName)!.ToLowerInvariant(), LearningRate = parse.GetValue(lr),
                Schedule = LearningRateSchedule.ParseShape(parse.GetValue(schedule)!), WarmupSteps = parse.GetValue(warmup),
                EvaluateEvery = parse.GetValue(evalEvery), Patience = parse.GetValue(patience), Seed = parse.GetValue(seed),
            }, new ConsoleProgress(TimeSpan.FromSeconds(10)));
            var result = tuner.Run(train, validation, Path.Combine(outDir, "checkpoint"), parse.GetValue(resume));

            PromptAdapterFiles.Save(outDir, prompt, new PromptAdapterFiles.Info(loaded.Source, frozen.Config.NumLayers, frozen.Config.NumHeads, initName, parse.GetValue(initText)));
            double tuned = classifier.Accuracy(test), baseline = zeroShot.Accuracy(test);
            string majority = test.GroupBy(e => e.Label).OrderByDescending(g => g.Count()).First().Key;
            double majorityRate = test.Count(e => e.Label == majority) / (double)test.Count;
            Console.WriteLine(System.Text.Json.JsonSerializer.Serialize(new
            {
                task = taskName, method = "prompt_tuning", prompt_length = prompt.Length, init = initName,
                trainable_params = prompt.Prompt.Length, percent_of_base = Math.Round(100.0 * prompt.Prompt.Length / frozen.ParameterCount, 4),
                best_validation_step = result.BestStep, best_validation_accuracy = Math.Round(result.BestAccuracy, 4), steps = result.Steps, stopped_early = result.StoppedEarly, test_examples = test.Count,
                test_accuracy = Math.Round(tuned, 4), zero_shot_accuracy = Math.Round(baseline, 4),
                majority_class = majority, majority_accuracy = Math.Round(majorityRate, 4),
                seconds = Math.Round(clock.Elapsed.TotalSeconds, 1), adapter = outDir,
            }));
            return 0;
        });
        return command;
    }

    private static List<LabeledExample> Take(List<LabeledExample> examples, int count) =>
        count <= 0 || count >= examples.Count ? examples : examples.Take(count).ToList();
}
