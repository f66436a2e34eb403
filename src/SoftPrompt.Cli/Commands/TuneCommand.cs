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
        var weights = CommonOptions.Weights();
        var task = new Option<string>("--task")
        {
            Description = "A task under --data (food-reviews, spam, brown-genre, ...) or a task folder's path "
                + "(train/validation/test.jsonl, task.json); or classification tasks a,b,... tuned together",
            Required = true,
        };
        var data = CommonOptions.Data();
        var output = new Option<string>("--out") { Description = "Adapter output directory (default adapters/<task>)" };
        var length = new Option<int?>("--prompt-length")
        {
            Description =
                "Soft prompt vectors (default: k of the task template's {soft*k}, else the tokens of --init-text " +
                "with --init text, else 20)",
        };
        var init = new Option<string>("--init")
        {
            Description = "uniform, vocab, labels or text",
            DefaultValueFactory = _ => "vocab",
        };
        var initText = new Option<string?>("--init-text") { Description = "Text for --init text" };
        var placement = new Option<string?>("--placement")
        {
            Description =
                "before-input (Lester et al.) or before-answer (after the input; classification only). Default: where "
                + "the task template puts its {soft} slot (at its start or end), else before-input",
        };
        var steps = new Option<int>("--steps") { DefaultValueFactory = _ => 200 };
        var batch = new Option<int>("--batch") { DefaultValueFactory = _ => 8 };
        var lr = new Option<float?>("--lr")
        {
            Description =
                "Learning rate (default: 4 % of the RMS of the model's token embeddings, e.g. 0.003; a step moves "
                + "each prompt value by about this much)",
        };
        var optimizerName = new Option<string>("--optimizer")
        {
            Description = "adafactor (Lester et al.) or adamw",
            DefaultValueFactory = _ => "adafactor",
        };
        var schedule = new Option<string>("--schedule")
        {
            Description = "constant, linear or cosine",
            DefaultValueFactory = _ => "constant",
        };
        var warmup = new Option<int>("--warmup") { Description = "Linear warm-up steps", DefaultValueFactory = _ => 0 };
        var accumulate = new Option<int>("--accumulate")
        {
            Description = "Micro-batches per update",
            DefaultValueFactory = _ => 1,
        };
        var patience = new Option<int>("--patience")
        {
            Description = "Stop after this many evaluations without improvement (0: never)",
            DefaultValueFactory = _ => 0,
        };
        var resume = new Option<bool>("--resume") { Description = "Continue from the checkpoint in --out" };
        var onNan = new Option<string>("--on-nan")
        {
            Description = "NaN/Inf in loss or gradients: stop or skip the update",
            DefaultValueFactory = _ => "stop",
        };
        var checkpointEvery = new Option<int>("--checkpoint-every")
        {
            Description = "Steps between checkpoints",
            DefaultValueFactory = _ => 50,
        };
        var method = new Option<string>("--method")
        {
            Description =
                "prompt-tuning, or any method of `compare --methods` (lora, prefix, deep, adapter, bitfit, ft, …) at "
                + "its own optimizer and learning rate; those train classification tasks on a decoder; on a T5: "
                + "prompt, prefix, ft, zero-shot; on a ViT with an image task: probe, vpt-shallow, vpt-deep, ft",
            DefaultValueFactory = _ => "prompt-tuning",
        };
        var loss = new Option<string>("--loss")
        {
            Description =
                "Classification loss: labels (softmax over the labels' tokens where they part, as PET), vocabulary "
                + "(over every token, as Lester et al.) or auto (labels where the labels part at one token)",
            DefaultValueFactory = _ => "auto",
        };
        var balanceLabels = new Option<bool>("--balance-labels")
        {
            Description = "Draw training batches with every label equally often (classification; trades the label " +
                "prior for macro-F1)",
        };
        var keepBy = new Option<string>("--keep-by")
        {
            Description = "Which validation state to keep (classification): accuracy; macro-f1 (an imbalanced " +
                "task's best-accuracy state can be one that always answers the majority label); or " +
                "macro-f1-above-majority: the best macro-F1 among states at least 3 points over always answering " +
                "the validation's most common label (scored 1 + macro-F1), the best accuracy while none is",
            DefaultValueFactory = _ => "accuracy",
        };
        var keepByMacroF1 = new Option<bool>("--keep-by-macro-f1") { Description = "Short for --keep-by macro-f1" };
        var perToken = new Option<bool>("--per-token")
        {
            Description = "Score labels by mean log-probability per token (length-normalised)",
        };
        var evalEvery = new Option<int>("--eval-every") { DefaultValueFactory = _ => 50 };
        var evaluateInit = new Option<bool>("--evaluate-init")
        {
            Description =
                "Score the starting prompt (or adapter) on validation too, so the kept state is never worse " +
                "there than where training began (an init from text the model already answers well)",
        };
        var evalExamples = new Option<int>("--eval-examples")
        {
            Description = "Validation examples per evaluation",
            DefaultValueFactory = _ => 200,
        };
        var testExamples = new Option<int>("--test-examples")
        {
            Description = "Test examples scored at the end (0 = all)",
            DefaultValueFactory = _ => 0,
        };
        var seed = CommonOptions.Seed();
        var threads = CommonOptions.Threads();
        var json = ResultOutput.Json();
        var recompute = CommonOptions.Recompute();

        var command = new Command("tune",
            "Prompt-tune a frozen model on a classification task and save the prompt as a PEFT adapter.");
        foreach (var o in new Option[] { onNan, model, task, data, output, method, loss, perToken, balanceLabels,
            keepBy, keepByMacroF1,
            checkpointEvery,
            length, init, initText, placement, steps, batch, lr, optimizerName, schedule, warmup, accumulate, patience,
            resume, evalEvery, evaluateInit, evalExamples, testExamples, seed, threads, json, weights, recompute })
            command.Options.Add(o);
        command.SetAction(parse =>
        {
            Parallelism.Threads = parse.GetValue(threads);
            var (taskName, taskDir) = TaskFolder.Locate(parse.GetValue(task)!, parse.GetValue(data)!);
            // A T5 or a ViT trains every method, prompt tuning too, through the registry's entry for its family.
            bool singleStack = ModelFamily.OfStoredModel(parse.GetValue(model)!) is ModelFamilies.Decoder
                or ModelFamilies.Encoder;
            bool promptTuning = parse.GetValue(method) is "prompt-tuning" or "prompt_tuning" or "prompt"
                && singleStack;
            var keptState = KeptStates.Parse(parse.GetValue(keepBy)!);
            if (parse.GetValue(keepByMacroF1))
                keptState = keptState is KeptStateCriterion.Accuracy or KeptStateCriterion.MacroF1
                    ? KeptStateCriterion.MacroF1
                    : throw new Engine.OptionException("KeepBy",
                        "and --keep-by-macro-f1 ask for different kept states; give one of them.");
            string? onePromptOnly = parse.GetValue(balanceLabels) ? "BalanceLabels"
                : keptState != KeptStateCriterion.Accuracy ? "KeepBy" : null;
            if (onePromptOnly is not null && (!promptTuning || taskName.Contains(',')))
                throw new Engine.OptionException(onePromptOnly,
                    "applies to prompt tuning of one classification task on a decoder or an encoder.");
            if (parse.GetValue(recompute) && !promptTuning)
                throw new Engine.OptionException("Recompute", "applies to prompt tuning on a decoder or an encoder.");
            if (!promptTuning && parse.GetValue(method) is string other)
                return MethodTuning.Run(new SingleMethodRun.Settings(other, parse.GetValue(model)!, taskName, taskDir,
                    parse.GetValue(output) ?? Path.Combine("adapters", taskName),
                    new MethodSettings
                    {
                        PromptLength = parse.GetValue(length) ?? PromptTuningRun.DefaultPromptLength,
                        Seed = parse.GetValue(seed), Loss = ClassificationLosses.Parse(parse.GetValue(loss)!),
                        Training = new PromptTuningOptions
                        {
                            Steps = parse.GetValue(steps), BatchSize = parse.GetValue(batch),
                            AccumulationSteps = parse.GetValue(accumulate),
                            EvaluateEvery = parse.GetValue(evalEvery), EvaluateInit = parse.GetValue(evaluateInit),
                            Patience = parse.GetValue(patience),
                            Seed = parse.GetValue(seed),
                            CheckpointEvery = parse.GetValue(checkpointEvery), OnNonFinite = NonFiniteGuard.ParsePolicy(
                                parse.GetValue(onNan)!),
                        },
                    },
                    parse.GetValue(evalExamples), parse.GetValue(testExamples), parse.GetValue(resume)),
                        parse.GetValue(json));
            var loaded = ModelLoader.Load(parse.GetValue(model)!, CommonOptions.Bf16(parse, weights));
            var tokenizer = loaded.Tokenizer ?? throw new FileNotFoundException(
                $"The model at {loaded.Source} has no tokenizer.");
            var frozen = loaded.Model;
            frozen.SetTrainable(false);
            CommonOptions.ApplyRecompute(frozen, parse.GetValue(recompute));
            var promptPlacement = parse.GetValue(placement) is string where ? PromptAdapterFiles.ParsePlacement(where)
                : (PromptPlacement?)null;
            string initName = parse.GetValue(init)!;
            string outDir = parse.GetValue(output) ?? Path.Combine("adapters", taskName);
            var options = new PromptTuningOptions
            {
                Steps = parse.GetValue(steps), BatchSize = parse.GetValue(batch),
                AccumulationSteps = parse.GetValue(accumulate),
                Optimizer = parse.GetValue(optimizerName)!.ToLowerInvariant(), LearningRate = parse.GetValue(lr)
                    ?? PromptScale.LearningRate(frozen.TokenEmbedding),
                Schedule = LearningRateSchedule.ParseShape(parse.GetValue(schedule)!),
                WarmupSteps = parse.GetValue(warmup),
                EvaluateEvery = parse.GetValue(evalEvery), EvaluateInit = parse.GetValue(evaluateInit),
                Patience = parse.GetValue(patience),
                Seed = parse.GetValue(seed),
                CheckpointEvery = parse.GetValue(checkpointEvery),
                OnNonFinite = NonFiniteGuard.ParsePolicy(parse.GetValue(onNan)!),
            };
            if (taskName.Contains(','))
                return MultiTaskTuning.Run(frozen, tokenizer, loaded.Source,
                    new MultiTaskPromptTuning.MultiTaskSettings(
                    taskName.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
                    parse.GetValue(data)!,
                    parse.GetValue(output) ?? "adapters", parse.GetValue(length) ?? PromptTuningRun.DefaultPromptLength,
                    initName, parse.GetValue(initText), parse.GetValue(seed), options,
                    parse.GetValue(evalExamples), parse.GetValue(testExamples), parse.GetValue(resume),
                    parse.GetValue(perToken),
                    ClassificationLosses.Parse(parse.GetValue(loss)!)), parse.GetValue(json));
            var outcome = PromptTuningRun.Run(frozen, tokenizer, loaded.Source, new PromptTuningRun.Settings(taskName,
                taskDir, outDir,
                parse.GetValue(length), promptPlacement, initName, parse.GetValue(initText), parse.GetValue(seed),
                options,
                parse.GetValue(evalExamples), parse.GetValue(testExamples), parse.GetValue(resume),
                parse.GetValue(perToken),
                ClassificationLosses.Parse(parse.GetValue(loss)!), parse.GetValue(balanceLabels), keptState),
                new ConsoleProgress(TimeSpan.FromSeconds(10)),
                    Console.Error.WriteLine);
            var (report, summary) = Describe(outcome, initName, options.LearningRate);
            ResultOutput.Print(parse, json, report, summary);
            return 0;
        });
        return command;
    }

    /// <summary>The run's figures as the JSON record (--json) and the sentences a person reads.</summary>
    private static (object Record, string Summary) Describe(PromptTuningRun.Outcome outcome, string init,
        float learningRate)
    {
        double percent = 100.0 * outcome.TrainableParameters / outcome.BaseParameters;
        switch (outcome)
        {
            case PromptTuningRun.GenerationOutcome g:
                return (new
                {
                    task = g.Task, method = "prompt_tuning", prompt_length = g.PromptLength, init,
                    trainable_params = g.TrainableParameters, percent_of_base = Math.Round(percent, 4),
                    best_validation_step = g.BestStep, best_validation_rouge_l = Math.Round(g.BestValidationScore, 4),
                    steps = g.Steps,
                    stopped_early = g.StoppedEarly, test_examples = g.TestExamples,
                    test_bleu = Math.Round(g.Bleu, 4), test_rouge_l = Math.Round(g.RougeL, 4),
                    zero_shot_bleu = Math.Round(g.ZeroShotBleu, 4), zero_shot_rouge_l = Math.Round(g.ZeroShotRougeL, 4),
                    seconds = Math.Round(g.Seconds, 1), adapter = g.AdapterDirectory,
                }, $"Tuned prompt: ROUGE-L {g.RougeL:F3} (BLEU {g.Bleu:F3}) on {g.TestExamples:N0} {g.Task} test " +
                    $"examples; the untuned " +
                   $"prompt ROUGE-L {g.ZeroShotRougeL:F3} (BLEU {g.ZeroShotBleu:F3}). {g.TrainableParameters:N0} " +
                       $"trained values; adapter in {g.AdapterDirectory}.");
            case PromptTuningRun.ClassificationOutcome c:
                return (new
                {
                    task = c.Task, method = "prompt_tuning", prompt_length = c.PromptLength, init,
                    placement = PromptAdapterFiles.PlacementName(c.Placement),
                    loss = c.EffectiveLoss == ClassificationLoss.LabelChoice ? "labels" : "vocabulary",
                    learning_rate = learningRate,
                    trainable_params = c.TrainableParameters, percent_of_base = Math.Round(percent, 4),
                    best_validation_step = c.BestStep, kept_by = c.ValidationMetric,
                    best_validation_score = Math.Round(c.BestValidationScore, 4),
                    steps = c.Steps,
                    stopped_early = c.StoppedEarly, test_examples = c.TestExamples,
                    test_accuracy = Math.Round(c.Accuracy, 4), test_macro_f1 = Math.Round(c.MacroF1, 4),
                    zero_shot_accuracy = Math.Round(c.ZeroShotAccuracy, 4), zero_shot_macro_f1 =
                        Math.Round(c.ZeroShotMacroF1, 4),
                    majority_class = c.MajorityClass, majority_accuracy = Math.Round(c.MajorityAccuracy, 4),
                    majority_macro_f1 = Math.Round(c.MajorityMacroF1, 4),
                    seconds = Math.Round(c.Seconds, 1), adapter = c.AdapterDirectory,
                }, $"Tuned prompt: {c.Accuracy:P1} test accuracy (macro-F1 {c.MacroF1:F3}) on {c.TestExamples:N0} " +
                    $"{c.Task} test examples; " +
                   $"the untuned prompt {c.ZeroShotAccuracy:P1} (macro-F1 {c.ZeroShotMacroF1:F3}); always answering " +
                       $"\"{c.MajorityClass}\" " +
                   $"{c.MajorityAccuracy:P1} (macro-F1 {c.MajorityMacroF1:F3}). {c.TrainableParameters:N0} trained " +
                       $"values ({percent:F3}% of the base); " +
                   $"adapter in {c.AdapterDirectory}.");
            default:
                throw new InvalidOperationException($"No description for {outcome.GetType().Name}.");
        }
    }
}
