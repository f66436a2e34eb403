using System.CommandLine;
using SoftPrompt.Engine;
using SoftPrompt.Models.Formats;
using SoftPrompt.Training;
using SoftPrompt.Training.Pretraining;

namespace SoftPrompt.Cli.Commands;

/// <summary>
/// `softprompt pretrain`: train a byte-level BPE tokenizer on the corpus (unless given one), then a LLaMA-style base
/// model from scratch; the best model by validation loss is written as a Hugging Face directory with a model card.
/// </summary>
public static class PretrainCommand
{
    public static Command Build()
    {
        var corpus = new Option<string>("--corpus")
        {
            Description = "Directory with train.txt and validation.txt",
            DefaultValueFactory = _ => ShippedFiles.Path("data/corpus"),
        };
        var output = new Option<string>("--out") { Description = "Output model directory", Required = true };
        var tokenizerPath = new Option<string?>("--tokenizer")
        {
            Description = "Use this tokenizer.json instead of training one",
        };
        var preset = new Option<string>("--preset") { Description =
            $"Model size: {string.Join(", ", ModelPresets.All.Keys)}", DefaultValueFactory = _ => "small" };
        var steps = new Option<int>("--steps") { DefaultValueFactory = _ => 2000 };
        var batch = new Option<int>("--batch") { DefaultValueFactory = _ => 16 };
        var lr = new Option<float>("--lr") { DefaultValueFactory = _ => 2e-3f };
        var warmup = new Option<int>("--warmup") { DefaultValueFactory = _ => 100 };
        var evalEvery = new Option<int>("--eval-every") { DefaultValueFactory = _ => 200 };
        var checkpointEvery = new Option<int>("--checkpoint-every") { DefaultValueFactory = _ => 100 };
        var seed = CommonOptions.Seed();
        var threads = CommonOptions.Threads();
        var resume = new Option<bool>("--resume") { Description = "Continue from the checkpoint in --out" };
        var initFrom = new Option<string?>("--init-from")
        {
            Description = "Continue pretraining this model directory (its weights and tokenizer; --preset is ignored)",
        };
        var taskText = new Option<string?>("--task-text")
        {
            Description =
                "Also train on the text of this task file's rows (a training split, JSONL): task-adaptive pretraining",
        };
        var taskField = new Option<string>("--task-field")
        {
            Description = "The field of --task-text rows that holds the text",
            DefaultValueFactory = _ => "text",
        };
        var taskRepeats = new Option<int>("--task-repeats")
        {
            Description = "How many copies of the --task-text documents join the corpus",
            DefaultValueFactory = _ => 1,
        };
        var objective = new Option<string>("--objective")
        {
            Description =
                "next-token (a LLaMA-style decoder, BPE tokenizer) or mlm (a BERT encoder, WordPiece tokenizer, "
                + "masked tokens)",
            DefaultValueFactory = _ => "next-token",
        };
        var mixtureRows = new Option<int>("--mixture-rows")
        {
            Description =
                "Also train, in every step, this many rows of packed questions from the corpus folder's " +
                "mixture-train.jsonl (answers scored only; tools/make_mixture.py): LM adaptation toward a promptable " +
                "base",
            DefaultValueFactory = _ => 0,
        };
        var onNan = new Option<string>("--on-nan")
        {
            Description = "NaN/Inf in loss or gradients: stop or skip the update",
            DefaultValueFactory = _ => "stop",
        };

        var command = new Command("pretrain",
            "Pretrain a LLaMA-style base model (and its tokenizer) on a text corpus.");
        foreach (var o in new Option[] { objective, onNan, mixtureRows, corpus, output, tokenizerPath, preset, steps,
            batch, lr, warmup, evalEvery, checkpointEvery, seed, threads, resume, initFrom, taskText, taskField,
            taskRepeats })
            command.Options.Add(o);
        command.SetAction(parse =>
        {
            Parallelism.Threads = parse.GetValue(threads);
            string outDir = parse.GetValue(output)!, corpusDir = parse.GetValue(corpus)!;
            bool masked = parse.GetValue(objective) switch
            {
                "next-token" => false,
                "mlm" => true,
                var other => throw new OptionException("Objective",
                    $"'{other}' is not known (known: next-token, mlm)."),
            };
            var settings = new PretrainingRun.Settings(corpusDir, outDir, parse.GetValue(preset)!, masked,
                parse.GetValue(initFrom), parse.GetValue(tokenizerPath), parse.GetValue(taskText),
                parse.GetValue(taskField)!, parse.GetValue(taskRepeats), parse.GetValue(resume),
                new PretrainOptions
                {
                    BatchSize = parse.GetValue(batch), Steps = parse.GetValue(steps),
                    WarmupSteps = parse.GetValue(warmup), PeakLearningRate = parse.GetValue(lr),
                    EvaluateEvery = parse.GetValue(evalEvery), CheckpointEvery = parse.GetValue(checkpointEvery),
                    Seed = parse.GetValue(seed), OnNonFinite = NonFiniteGuard.ParsePolicy(parse.GetValue(onNan)!),
                    MixtureRows = parse.GetValue(mixtureRows),
                });
            var progress = new ConsoleProgress();
            using var stop = new CancellationTokenSource();
            // Ctrl-C or SIGTERM: finish the current step, checkpoint, and write the card for the best model so far.
            using var interrupt = System.Runtime.InteropServices.PosixSignalRegistration.Create(
                System.Runtime.InteropServices.PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });
            using var terminate = System.Runtime.InteropServices.PosixSignalRegistration.Create(
                System.Runtime.InteropServices.PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
            var outcome = PretrainingRun.Run(settings, progress, stop.Token);
            if (outcome.Saved is not { } saved)
            {
                progress.Message("Stopped before the first evaluation; nothing exported yet. Continue with --resume.");
                return 1;
            }
            var options = outcome.Options;
            ModelCard.Write(Path.Combine(outDir, "MODEL_CARD.md"), saved, outcome.Result, options.Steps,
                outcome.ValidationLoss, outcome.TrainTokens, outcome.ValidationTokens, outcome.Elapsed,
                Reproduce(settings, options), corpusDir, continuedFrom: settings.InitFrom,
                mixture: outcome.MixtureSha256 is string sha
                    ? $"{options.MixtureRows} rows of packed questions from `{corpusDir}/{MixtureFiles.Train}` " +
                        $"(sha256 {sha[..16]}…)"
                    : null,
                resumed: settings.Resume, givenTokenizer: settings.InitFrom is null ? settings.Tokenizer : null,
                corpusTokensSeen: options.MixtureRows > 0
                    ? (long)outcome.Result.Steps * options.BatchSize * options.Context : null);
            progress.Message($"Done in {outcome.Elapsed}: best step {outcome.Result.BestStep}, validation " +
                $"{(masked ? "masked-token " : "")}loss {outcome.ValidationLoss:F4} (perplexity " +
                $"{Math.Exp(outcome.ValidationLoss):F2}) → {outDir}");
            return 0;
        });
        return command;
    }

    /// <summary>The command line that makes this model again, for its card.</summary>
    private static string Reproduce(PretrainingRun.Settings s, PretrainOptions options) =>
        $"softprompt pretrain {(s.Masked ? "--objective mlm " : "")}--corpus {s.CorpusDirectory} " +
        $"--out {s.OutDirectory} " +
        (s.InitFrom is null ? $"--preset {s.Preset}" : $"--init-from {s.InitFrom}") +
        (s.InitFrom is null && s.Tokenizer is string givenTokenizer ? $" --tokenizer {givenTokenizer}" : "") +
        (options.MixtureRows > 0 ? $" --mixture-rows {options.MixtureRows}" : "") +
        (s.TaskText is null ? ""
            : $" --task-text {s.TaskText} --task-field {s.TaskField} --task-repeats {s.TaskRepeats}") +
        $" --steps {options.Steps} --batch {options.BatchSize} --lr {options.PeakLearningRate} " +
        $"--warmup {options.WarmupSteps} --seed {options.Seed} --eval-every {options.EvaluateEvery}";
}
