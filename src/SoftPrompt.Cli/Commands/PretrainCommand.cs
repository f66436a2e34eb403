using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using SoftPrompt.Data.Tasks;
using SoftPrompt.Data.Tokenizers;
using SoftPrompt.Engine;
using SoftPrompt.Engine.IO;
using SoftPrompt.Models;
using SoftPrompt.Models.Formats;
using SoftPrompt.Training;
using SoftPrompt.Training.Corpus;
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
            string presetName = parse.GetValue(preset)!;
            var size = ModelPresets.Find(presetName);
            bool resuming = parse.GetValue(resume);
            bool masked = parse.GetValue(objective) switch
            {
                "next-token" => false,
                "mlm" => true,
                var other => throw new ArgumentException($"Unknown --objective '{other}' (known: next-token, mlm)."),
            };
            var progress = new ConsoleProgress();
            Directory.CreateDirectory(outDir);
            var clock = Stopwatch.StartNew();

            var trainDocs = TextCorpus.ReadDocuments(Path.Combine(corpusDir, "train.txt"));
            string? taskFile = parse.GetValue(taskText);
            if (taskFile is not null)
            {
                var taskDocs = TaskText(taskFile, parse.GetValue(taskField)!);
                int repeats = parse.GetValue(taskRepeats);
                if (repeats < 1) throw new ArgumentException($"--task-repeats must be at least 1 (got {repeats}).");
                for (int r = 0; r < repeats; r++) trainDocs.AddRange(taskDocs);
                progress.Message(
                    $"Task-adaptive pretraining: {taskDocs.Count:N0} documents from {taskFile}, {repeats}×.");
            }
            var initial = parse.GetValue(initFrom) is string initDir ? ModelLoader.Load(initDir) : null;
            var initialModel = initial is null ? null : masked ? initial.Encoder : (TransformerModel)initial.Model;
            var validationDocs = TextCorpus.ReadDocuments(Path.Combine(corpusDir, "validation.txt"));
            string tokenizerFile = Path.Combine(outDir, TokenizerJson.FileName);
            ITokenizer tokenizer;
            if (initial is not null)
            {
                tokenizer = initial.Tokenizer ?? throw new FileNotFoundException(
                    $"--init-from {initial.Source}: the model has no tokenizer to continue with.");
                File.Copy(Path.Combine(parse.GetValue(initFrom)!, TokenizerJson.FileName), tokenizerFile,
                    overwrite: true);
            }
            else if (parse.GetValue(tokenizerPath) is string given) { tokenizer = TokenizerLoader.Load(
                given); File.Copy(given, tokenizerFile, overwrite: true); }
            else if (resuming && File.Exists(tokenizerFile)) tokenizer = TokenizerLoader.Load(tokenizerFile);
            else if (masked)
            {
                progress.Message(
                    $"Training a WordPiece tokenizer of {size.Vocab} tokens on {trainDocs.Count:N0} documents...");
                var trainer = new WordPieceTrainer();
                foreach (var d in trainDocs) trainer.Add(d);
                var trained = trainer.Train(size.Vocab);
                TokenizerJson.Write(tokenizerFile, trained);
                tokenizer = trained;
            }
            else
            {
                progress.Message(
                    $"Training a byte-level BPE tokenizer of {size.Vocab} tokens on {trainDocs.Count:N0} documents...");
                var trainer = new BpeTrainer();
                foreach (var d in trainDocs) trainer.Add(d);
                var trained = trainer.Train(size.Vocab, new[] { "<|endoftext|>" });
                TokenizerJson.Write(tokenizerFile, trained);
                tokenizer = trained;
            }
            int separator = tokenizer.EosId ?? throw new InvalidDataException(
                $"{tokenizerFile}: the tokenizer has no end-of-text token to separate documents.");

            progress.Message("Encoding the corpus...");
            var train = EncodeCached(Path.Combine(outDir, "train.tokens"), trainDocs, tokenizer, separator, resuming);
            var validation = EncodeCached(Path.Combine(outDir, "validation.tokens"), validationDocs, tokenizer,
                separator, resuming);
            progress.Message(
                $"Corpus: {train.Length:N0} training tokens, {validation.Length:N0} validation tokens " +
                $"({clock.Elapsed.TotalSeconds:F0} s).");

            var config = initialModel?.Config ?? (masked
                ? new ModelConfig
                {
                    Architecture = Architecture.Bert, VocabSize = tokenizer.VocabSize, HiddenSize = size.Width,
                    NumLayers = size.Layers,
                    NumHeads = size.Heads, IntermediateSize = size.Ffn, MaxPositions = size.Context, TypeVocabSize = 2,
                    NormEps = 1e-12f, HiddenAct = "gelu", TieWordEmbeddings = true, PadTokenId = tokenizer.PadId,
                }
                : new ModelConfig
                {
                    Architecture = Architecture.Llama, VocabSize = tokenizer.VocabSize, HiddenSize = size.Width,
                    NumLayers = size.Layers,
                    NumHeads = size.Heads, NumKvHeads = size.KvHeads, IntermediateSize = size.Ffn,
                    MaxPositions = size.Context,
                    NormEps = 1e-5f, RopeTheta = 10000f, TieWordEmbeddings = true, BosTokenId = separator,
                    EosTokenId = separator,
                });
            var model = initialModel ?? TransformerModel.Create(config);
            if (initial is null) model.InitializeRandom(parse.GetValue(seed));
            else model.SetTrainable(true);
            var options = new PretrainOptions
            {
                BatchSize = parse.GetValue(batch), Context = initial is null ? size.Context : config.MaxPositions,
                Steps = parse.GetValue(steps), WarmupSteps = parse.GetValue(warmup),
                PeakLearningRate = parse.GetValue(lr), EvaluateEvery = parse.GetValue(evalEvery),
                CheckpointEvery = parse.GetValue(checkpointEvery),
                Seed = parse.GetValue(seed),
                OnNonFinite = NonFiniteGuard.ParsePolicy(parse.GetValue(onNan)!),
                Objective = masked ? PretrainObjective.MaskedTokens : PretrainObjective.NextToken,
                Masking = masked ? MaskingFor(tokenizer) : null,
                MixtureRows = parse.GetValue(mixtureRows),
            };
            progress.Message(initial is null
                ? $"Model: {(masked ? "BERT" : "LLaMA-style")}, {model.ParameterCount:N0} parameters ({size.Layers} " +
                    $"layers × {size.Width} wide, {size.Heads} heads{(masked ? "" : $" / {size.KvHeads} kv")}, " +
                    $"context {size.Context})."
                : $"Model: continuing {initial.Source} ({model.ParameterCount:N0} parameters, context " +
                    $"{config.MaxPositions}).");
            var trainer2 = new Pretrainer(model, options, progress);
            using var stop = new CancellationTokenSource();
            // Ctrl-C or SIGTERM: finish the current step, checkpoint, and write the card for the best model so far.
            using var interrupt = System.Runtime.InteropServices.PosixSignalRegistration.Create(
                System.Runtime.InteropServices.PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });
            using var terminate = System.Runtime.InteropServices.PosixSignalRegistration.Create(
                System.Runtime.InteropServices.PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
            IPretrainingObjective? mixture = null;
            if (options.MixtureRows > 0)
            {
                var questions = QuestionMixture.Read(Path.Combine(corpusDir, MixtureFiles.Train), tokenizer.Encode,
                    separator, options.Context);
                var heldOut = QuestionMixture.Read(Path.Combine(corpusDir, MixtureFiles.Validation), tokenizer.Encode,
                    separator, options.Context);
                progress.Message(
                    $"Question mixture: {questions.Count:N0} training and {heldOut.Count:N0} held-out questions, " +
                    $"{options.MixtureRows} packed rows per step.");
                mixture = new MixtureObjective(model, options, train, validation, questions, heldOut, progress);
            }
            Action<int, float> saveBest = (step, loss) => ModelLoader.Save(model, outDir, SafeTensorsDType.BF16);
            var result = mixture is null
                ? trainer2.Run(train, validation, Path.Combine(outDir, "checkpoint"), resuming, saveBest, stop.Token)
                : trainer2.Run(mixture, Path.Combine(outDir, "checkpoint"), resuming, saveBest, stop.Token);
            if (!File.Exists(Path.Combine(outDir, "model.safetensors")))
            {
                progress.Message($"Stopped before the first evaluation; nothing exported yet. Continue with --resume.");
                return 1;
            }

            // The card's figure is measured on the saved (bf16) model over every validation window: for a decoder
            // exactly what `softprompt eval --perplexity` computes, so anyone can reproduce it; for an encoder on the
            // masked tokens.
            var saved = ModelLoader.Load(outDir).Transformer;
            float validationLoss = Pretrainer.MeanLoss(saved, validation, EvalSettings.Batch, options.Context,
                int.MaxValue, options.Masking);
            string reproduce =
                $"softprompt pretrain {(masked ? "--objective mlm " : "")}--corpus {corpusDir} --out {outDir} " +
                               (initial is null ? $"--preset {presetName}"
                                   : $"--init-from {parse.GetValue(initFrom)}") +
                               (initial is null && parse.GetValue(tokenizerPath) is string givenTokenizer
                                   ? $" --tokenizer {givenTokenizer}" : "") +
                               (options.MixtureRows > 0 ? $" --mixture-rows {options.MixtureRows}" : "") +
                               (taskFile is null ? ""
                                   : $" --task-text {taskFile} --task-field {parse.GetValue(taskField)} " +
                                   $"--task-repeats {parse.GetValue(taskRepeats)}") +
                               $" --steps {options.Steps} --batch {options.BatchSize} --lr " +
                                   $"{options.PeakLearningRate} --warmup {options.WarmupSteps} --seed {options.Seed}" +
                               $" --eval-every {options.EvaluateEvery}";
            ModelCard.Write(Path.Combine(outDir, "MODEL_CARD.md"), saved, result, options.Steps, validationLoss,
                train.Length, validation.Length, clock.Elapsed, reproduce, corpusDir,
                continuedFrom: parse.GetValue(initFrom), mixture: options.MixtureRows > 0
                    ? $"{options.MixtureRows} rows of packed questions from `{corpusDir}/mixture-train.jsonl` " +
                        $"(sha256 {Sha256Of(Path.Combine(corpusDir, "mixture-train.jsonl"))[..16]}…)"
                    : null, resumed: parse.GetValue(resume), givenTokenizer: initial is null
                        ? parse.GetValue(tokenizerPath) : null,
                corpusTokensSeen: options.MixtureRows > 0 ? (long)result.Steps * options.BatchSize * options.Context
                    : null);
            progress.Message(
                $"Done in {clock.Elapsed}: best step {result.BestStep}, validation " +
                $"{(masked ? "masked-token " : "")}loss {validationLoss:F4} (perplexity " +
                $"{Math.Exp(validationLoss):F2}) → {outDir}");
            return 0;
        });
        return command;
    }

    private static string Sha256Of(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(stream));
    }

    /// <summary>The given field of every row of a task file, as pretraining documents. Held-out splits are refused:
    /// pretraining on them would leak the test into every later evaluation.</summary>
    private static List<string> TaskText(string path, string field)
    {
        string name = Path.GetFileNameWithoutExtension(path).ToLowerInvariant();
        if (name is "validation" or "test" or "dev")
            throw new ArgumentException(
                $"--task-text {path}: only a training split may join the pretraining corpus (this looks like a " +
                $"held-out split).");
        return TaskFile.ReadRows(path).Select(row => row.Fields.TryGetValue(field, out var text)
            && !string.IsNullOrWhiteSpace(text)
            ? text
            : throw new InvalidDataException($"{path}, line {row.Line}: no \"{field}\" text.")).ToList();
    }

    private static TokenMasking MaskingFor(ITokenizer tokenizer)
    {
        var wordPiece = tokenizer as WordPieceTokenizer
                        ?? throw new ArgumentException(
                            "--objective mlm needs a WordPiece tokenizer (with [MASK]); train one by leaving out " +
                            "--tokenizer.");
        int mask = wordPiece.MaskId ?? throw new ArgumentException(
            "--objective mlm: the tokenizer has no [MASK] token.");
        return new TokenMasking(mask, tokenizer.VocabSize, wordPiece.SpecialTokens.Select(t => t.Id).ToHashSet());
    }

    private static TokenCorpus EncodeCached(string path, List<string> documents, ITokenizer tokenizer, int separator,
        bool reuse)
    {
        if (reuse && File.Exists(path)) return TokenCorpus.Load(path, tokenizer.VocabSize);
        var corpus = TokenCorpus.FromDocuments(documents, tokenizer.Encode, separator);
        corpus.Save(path);
        return corpus;
    }
}

/// <summary>How perplexity is measured everywhere: non-overlapping windows of the model's context, batches of
/// 16.</summary>
public static class EvalSettings
{
    public const int Batch = 16;
}
