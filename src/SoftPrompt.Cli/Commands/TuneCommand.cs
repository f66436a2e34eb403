using System.CommandLine;
using System.Diagnostics;
using SoftPrompt.Data.Tasks;
using SoftPrompt.Engine;
using SoftPrompt.Models.Formats;
using SoftPrompt.Training;
using SoftPrompt.Training.Progress;
using SoftPrompt.Training.Schedules;
using SoftPrompt.Tuning.PromptTuning;
using SoftPrompt.Tuning;
using SoftPrompt.Tuning.Comparison;

namespace SoftPrompt.Cli.Commands;

/// <summary>
/// `softprompt tune`: Lester et al.'s prompt tuning of a frozen model on a classification task (test accuracy against
/// the zero-shot prompt design and the majority class) or a generation task (BLEU and ROUGE-L against the bare
/// template); the prompt is saved as a PEFT adapter directory.
/// </summary>
public static class TuneCommand
{
    public static Command Build()
    {
        var model = CommonOptions.Model("Frozen base model directory");
        var task = new Option<string>("--task") { Description = "A task under --data (food-reviews, spam, brown-genre, ...) or a task folder's path (train/validation/test.jsonl, task.json); or classification tasks a,b,... tuned together", Required = true };
        var data = CommonOptions.Data();
        var output = new Option<string>("--out") { Description = "Adapter output directory (default adapters/<task>)" };
        var length = new Option<int>("--prompt-length") { DefaultValueFactory = _ => 20 };
        var init = new Option<string>("--init") { Description = "uniform, vocab, labels or text", DefaultValueFactory = _ => "vocab" };
        var initText = new Option<string?>("--init-text") { Description = "Text for --init text" };
        var placement = new Option<string>("--placement") { Description = "before-input (Lester et al.) or before-answer (after the input; classification only)", DefaultValueFactory = _ => "before-input" };
        var steps = new Option<int>("--steps") { DefaultValueFactory = _ => 200 };
        var batch = new Option<int>("--batch") { DefaultValueFactory = _ => 8 };
        var lr = new Option<float?>("--lr") { Description = "Learning rate (default: 4 % of the RMS of the model's token embeddings, e.g. 0.003; a step moves each prompt value by about this much)" };
        var optimizerName = new Option<string>("--optimizer") { Description = "adafactor (Lester et al.) or adamw", DefaultValueFactory = _ => "adafactor" };
        var schedule = new Option<string>("--schedule") { Description = "constant, linear or cosine", DefaultValueFactory = _ => "constant" };
        var warmup = new Option<int>("--warmup") { Description = "Linear warm-up steps", DefaultValueFactory = _ => 0 };
        var accumulate = new Option<int>("--accumulate") { Description = "Micro-batches per update", DefaultValueFactory = _ => 1 };
        var patience = new Option<int>("--patience") { Description = "Stop after this many evaluations without improvement (0: never)", DefaultValueFactory = _ => 0 };
        var resume = new Option<bool>("--resume") { Description = "Continue from the checkpoint in --out" };
        var onNan = new Option<string>("--on-nan") { Description = "NaN/Inf in loss or gradients: stop or skip the update", DefaultValueFactory = _ => "stop" };
        var checkpointEvery = new Option<int>("--checkpoint-every") { Description = "Steps between checkpoints", DefaultValueFactory = _ => 50 };
        var method = new Option<string>("--method") { Description = "prompt-tuning, or any method of `compare --methods` (lora, prefix, deep, adapter, bitfit, ft, …) at its own optimizer and learning rate; those train classification tasks on a decoder", DefaultValueFactory = _ => "prompt-tuning" };
        var loss = new Option<string>("--loss") { Description = "Classification loss: labels (softmax over the labels' tokens where they part, as PET), vocabulary (over every token, as Lester et al.) or auto (labels where the labels part at one token)", DefaultValueFactory = _ => "auto" };
        var perToken = new Option<bool>("--per-token") { Description = "Score labels by mean log-probability per token (length-normalised)" };
        var evalEvery = new Option<int>("--eval-every") { DefaultValueFactory = _ => 50 };
        var evalExamples = new Option<int>("--eval-examples") { Description = "Validation examples per evaluation", DefaultValueFactory = _ => 200 };
        var testExamples = new Option<int>("--test-examples") { Description = "Test examples scored at the end (0 = all)", DefaultValueFactory = _ => 0 };
        var seed = CommonOptions.Seed();
        var threads = CommonOptions.Threads();
        var json = ResultOutput.Json();

        var command = new Command("tune", "Prompt-tune a frozen model on a classification task and save the prompt as a PEFT adapter.");
        foreach (var o in new Option[] { onNan, model, task, data, output, method, loss, perToken, checkpointEvery, length, init, initText, placement, steps, batch, lr, optimizerName, schedule, warmup, accumulate, patience, resume, evalEvery, evalExamples, testExamples, seed, threads, json })
            command.Options.Add(o);
        command.SetAction(parse =>
        {
            Parallelism.Threads = parse.GetValue(threads);
            var (taskName, taskDir) = TaskFolder.Locate(parse.GetValue(task)!, parse.GetValue(data)!);
            if (parse.GetValue(method) is not ("prompt-tuning" or "prompt_tuning" or "prompt") and string other)
                return MethodTuning.Run(new SingleMethodRun.Settings(other, parse.GetValue(model)!, taskName, taskDir,
                    parse.GetValue(output) ?? Path.Combine("adapters", taskName),
                    new MethodSettings
                    {
                        PromptLength = parse.GetValue(length), Seed = parse.GetValue(seed), Loss = ClassificationLosses.Parse(parse.GetValue(loss)!),
                        Training = new PromptTuningOptions
                        {
                            Steps = parse.GetValue(steps), BatchSize = parse.GetValue(batch), AccumulationSteps = parse.GetValue(accumulate),
                            EvaluateEvery = parse.GetValue(evalEvery), Patience = parse.GetValue(patience), Seed = parse.GetValue(seed),
                            CheckpointEvery = parse.GetValue(checkpointEvery), OnNonFinite = NonFiniteGuard.ParsePolicy(parse.GetValue(onNan)!),
                        },
                    },
                    parse.GetValue(evalExamples), parse.GetValue(testExamples), parse.GetValue(resume)), parse.GetValue(json));
            var loaded = ModelLoader.Load(parse.GetValue(model)!);
            var tokenizer = loaded.Tokenizer ?? throw new FileNotFoundException($"The model at {loaded.Source} has no tokenizer.");
            var frozen = loaded.Model;
            frozen.SetTrainable(false);
            var prompt = new PromptEmbedding(parse.GetValue(length), frozen.Config.HiddenSize)
            {
                Placement = PromptAdapterFiles.ParsePlacement(parse.GetValue(placement)!),
            };
            string initName = parse.GetValue(init)!;
            string outDir = parse.GetValue(output) ?? Path.Combine("adapters", taskName);
            var options = new PromptTuningOptions
            {
                Steps = parse.GetValue(steps), BatchSize = parse.GetValue(batch), AccumulationSteps = parse.GetValue(accumulate),
                Optimizer = parse.GetValue(optimizerName)!.ToLowerInvariant(), LearningRate = parse.GetValue(lr) ?? PromptScale.LearningRate(frozen.TokenEmbedding),
                Schedule = LearningRateSchedule.ParseShape(parse.GetValue(schedule)!), WarmupSteps = parse.GetValue(warmup),
                EvaluateEvery = parse.GetValue(evalEvery), Patience = parse.GetValue(patience), Seed = parse.GetValue(seed),
                CheckpointEvery = parse.GetValue(checkpointEvery),
                OnNonFinite = NonFiniteGuard.ParsePolicy(parse.GetValue(onNan)!),
            };
            if (taskName.Contains(','))
                return MultiTaskTuning.Run(frozen, tokenizer, loaded.Source, new MultiTaskPromptTuning.MultiTaskSettings(
                    taskName.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), parse.GetValue(data)!,
                    parse.GetValue(output) ?? "adapters", parse.GetValue(length), initName, parse.GetValue(initText), parse.GetValue(seed), options,
                    parse.GetValue(evalExamples), parse.GetValue(testExamples), parse.GetValue(resume), parse.GetValue(perToken),
                    ClassificationLosses.Parse(parse.GetValue(loss)!)), parse.GetValue(json));
            string Split(string name) => Path.Combine(taskDir, name + ".jsonl");
            void Initialize(IEnumerable<int[]> trainInputs, IReadOnlyList<int[]> labelTokens) =>
                PromptInit.Apply(prompt, PromptInit.Parse(initName), frozen.TokenEmbedding, parse.GetValue(seed),
                    PromptInit.MostFrequentTokens(trainInputs, 5000), labelTokens,
                    parse.GetValue(initText) is string text ? tokenizer.Encode(text) : null);
            void Describe(int train, int validation, int test) =>
                Console.Error.WriteLine($"Task {taskName}: {train} train, {validation} validation, {test} test examples; " +
                    $"{prompt.Length} × {prompt.Prompt.Dim(1)} = {prompt.Prompt.Length:N0} trainable values " +
                    $"({100.0 * prompt.Prompt.Length / frozen.ParameterCount:F3}% of the frozen {frozen.ParameterCount:N0}).");
            var clock = Stopwatch.StartNew();
            var curve = new TrainingCurve(new ConsoleProgress(TimeSpan.FromSeconds(10)));
            object report;
            string summary;
            var taskDefinition = TaskDefinition.Load(taskDir, taskName); // kept in the adapter, so serving reads inputs as training did
            if (taskDefinition is GenerationTask generation)
            {
                var definition = generation;
                var train = definition.ReadSplit(Split("train"));
                var validation = Take(definition.ReadSplit(Split("validation")), parse.GetValue(evalExamples));
                var test = Take(definition.ReadSplit(Split("test")), parse.GetValue(testExamples));
                var generator = new PromptGenerator(frozen, tokenizer, definition, prompt);
                Initialize(train.Select(generator.InputTokens), Array.Empty<int[]>());
                Describe(train.Count, validation.Count, test.Count);
                var result = new PromptTuner<TextExample>(generator, options, curve)
                    .Run(train, validation, Path.Combine(outDir, "checkpoint"), parse.GetValue(resume));
                var (bleu, rouge, outputs) = generator.Evaluate(test);
                var (baseBleu, baseRouge, _) = new PromptGenerator(frozen, tokenizer, definition, prompt: null).Evaluate(test);
                summary = $"Tuned prompt: ROUGE-L {rouge:F3} (BLEU {bleu:F3}) on {test.Count:N0} {taskName} test examples; the untuned " +
                          $"prompt ROUGE-L {baseRouge:F3} (BLEU {baseBleu:F3}). {prompt.Prompt.Length:N0} trained values; adapter in {outDir}.";
                for (int i = 0; i < Math.Min(3, test.Count); i++)
                    Console.Error.WriteLine($"  {definition.Render(test[i])}{definition.Target(test[i])}\n    → {outputs[i]}");
                report = new
                {
                    task = taskName, method = "prompt_tuning", prompt_length = prompt.Length, init = initName,
                    trainable_params = prompt.Prompt.Length, percent_of_base = Math.Round(100.0 * prompt.Prompt.Length / frozen.ParameterCount, 4),
                    best_validation_step = result.BestStep, best_validation_rouge_l = Math.Round(result.BestScore, 4), steps = result.Steps,
                    stopped_early = result.StoppedEarly, test_examples = test.Count,
                    test_bleu = Math.Round(bleu, 4), test_rouge_l = Math.Round(rouge, 4),
                    zero_shot_bleu = Math.Round(baseBleu, 4), zero_shot_rouge_l = Math.Round(baseRouge, 4),
                    seconds = Math.Round(clock.Elapsed.TotalSeconds, 1), adapter = outDir,
                };
            }
            else
            {
                var definition = TaskDefinition.AsClassification(taskDefinition, Path.Combine(taskDir, TaskDefinition.FileName));
                var train = definition.ReadSplit(Split("train"));
                var validation = Take(definition.ReadSplit(Split("validation")), parse.GetValue(evalExamples));
                var test = Take(definition.ReadSplit(Split("test")), parse.GetValue(testExamples));
                var classifier = new PromptClassifier(frozen, tokenizer, definition, prompt)
                {
                    LengthNormalized = parse.GetValue(perToken), TrainingLoss = ClassificationLosses.Parse(parse.GetValue(loss)!),
                };
                Initialize(train.Select(classifier.InputTokens), definition.Labels.Select(l => classifier.LabelTokens[l]).ToList());
                if (classifier.TrainingLoss == ClassificationLoss.Auto && classifier.EffectiveLoss == ClassificationLoss.Vocabulary)
                    Console.Error.WriteLine($"Training with the loss over the whole vocabulary (--loss auto): {classifier.LabelChoiceProblem}");
                Describe(train.Count, validation.Count, test.Count);
                var result = new PromptTuner<LabeledExample>(classifier, options, curve)
                    .Run(train, validation, Path.Combine(outDir, "checkpoint"), parse.GetValue(resume));
                var (tuned, tunedF1) = classifier.Evaluate(test, parse.GetValue(perToken));
                var (baseline, baselineF1) = new PromptClassifier(frozen, tokenizer, definition, prompt: null).Evaluate(test, parse.GetValue(perToken));
                string majority = test.GroupBy(e => e.Label).OrderByDescending(g => g.Count()).First().Key;
                var (majorityAccuracy, majorityF1) = LabelPredictorExtensions.Score(test, test.Select(_ => majority).ToArray(), definition.Labels);
                summary = $"Tuned prompt: {tuned:P1} test accuracy (macro-F1 {tunedF1:F3}) on {test.Count:N0} {taskName} test examples; " +
                          $"the untuned prompt {baseline:P1} (macro-F1 {baselineF1:F3}); always answering \"{majority}\" {majorityAccuracy:P1} " +
                          $"(macro-F1 {majorityF1:F3}). {prompt.Prompt.Length:N0} trained values " +
                          $"({100.0 * prompt.Prompt.Length / frozen.ParameterCount:F3}% of the base); adapter in {outDir}.";
                report = new
                {
                    task = taskName, method = "prompt_tuning", prompt_length = prompt.Length, init = initName, placement = parse.GetValue(placement),
                    loss = classifier.EffectiveLoss == ClassificationLoss.LabelChoice ? "labels" : "vocabulary", learning_rate = options.LearningRate,
                    trainable_params = prompt.Prompt.Length, percent_of_base = Math.Round(100.0 * prompt.Prompt.Length / frozen.ParameterCount, 4),
                    best_validation_step = result.BestStep, best_validation_accuracy = Math.Round(result.BestScore, 4), steps = result.Steps,
                    stopped_early = result.StoppedEarly, test_examples = test.Count,
                    test_accuracy = Math.Round(tuned, 4), test_macro_f1 = Math.Round(tunedF1, 4),
                    zero_shot_accuracy = Math.Round(baseline, 4), zero_shot_macro_f1 = Math.Round(baselineF1, 4),
                    majority_class = majority, majority_accuracy = Math.Round(majorityAccuracy, 4), majority_macro_f1 = Math.Round(majorityF1, 4),
                    seconds = Math.Round(clock.Elapsed.TotalSeconds, 1), adapter = outDir,
                };
            }
            curve.Save(outDir); // before the config: the config's presence marks the directory complete
            PromptAdapterFiles.Save(outDir, prompt, PromptAdapterFiles.Info.For(frozen, loaded.Source, initName, parse.GetValue(initText), taskName, taskDefinition));
            ResultOutput.Print(parse, json, report, summary);
            return 0;
        });
        return command;
    }

    private static List<T> Take<T>(List<T> examples, int count) => TaskFile.EvenSubset(examples, count);
}
