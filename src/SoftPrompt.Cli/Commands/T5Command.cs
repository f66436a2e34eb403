using System.CommandLine;
using System.Diagnostics;
using SoftPrompt.Data.Tokenizers;
using SoftPrompt.Engine;
using SoftPrompt.Engine.IO;
using SoftPrompt.Models;
using SoftPrompt.Models.Formats;
using SoftPrompt.Models.Generation;
using SoftPrompt.Training;
using SoftPrompt.Training.Corpus;
using SoftPrompt.Training.Pretraining;
using SoftPrompt.Tuning;
using SoftPrompt.Tuning.EncoderDecoder;

namespace SoftPrompt.Cli.Commands;

/// <summary>
/// `softprompt t5 pretrain`: a T5-style encoder-decoder trained from scratch by span corruption, or continued from
/// one with the prefix-LM objective ("LM adaptation", Lester et al. 2021). `softprompt t5 compare`: prompt tuning,
/// prefix tuning and fine-tuning of such a model on a classification task (T5Compare.cs).
/// </summary>
public static partial class T5Command
{
    public const int SentinelCount = 32;

    public static Command Build()
    {
        var command = new Command("t5",
            "T5-style encoder-decoder: pretrain one (span corruption, LM adaptation) or compare tuning methods on it.");
        command.Subcommands.Add(BuildPretrain());
        command.Subcommands.Add(BuildCompare());
        command.Subcommands.Add(BuildGenerate());
        return command;
    }

    private static Option<int> Int(string name, string description, int value) => new(name) { Description = description,
        DefaultValueFactory = _ => value };

    private static Command BuildPretrain()
    {
        var corpus = new Option<string>("--corpus")
        {
            Description = "Directory with train.txt and validation.txt",
            DefaultValueFactory = _ => ShippedFiles.Path("data/corpus"),
        };
        var output = new Option<string>("--out") { Description = "Model directory to write", Required = true };
        var objective = new Option<string>("--objective")
        {
            Description = "span-corruption (from scratch) or lm-adaptation (prefix LM, continuing --init-from)",
            DefaultValueFactory = _ => "span-corruption",
        };
        var initFrom = new Option<string?>("--init-from")
        {
            Description = "Continue this T5 directory (its weights and tokenizer)",
        };
        var tokenizerPath = new Option<string>("--tokenizer")
        {
            Description = "Byte-level BPE tokenizer.json to extend with <pad> and sentinels (new models)",
            DefaultValueFactory = _ => ShippedFiles.Path("models/base-small/tokenizer.json"),
        };
        var width = Int("--width", "d_model", 256);
        var layers = Int("--layers", "Encoder and decoder blocks each", 4);
        var heads = Int("--heads", "Attention heads", 4);
        var ffn = Int("--ffn", "Feed-forward width", 1024);
        var window = Int("--window", "Tokens per span-corruption window / prefix-LM example", 128);
        var steps = Int("--steps", "Optimizer steps", 3000);
        var batch = Int("--batch", "Examples per step", 16);
        var lr = new Option<float>("--lr")
        {
            Description = "Peak AdamW learning rate (cosine decay)",
            DefaultValueFactory = _ => 1e-3f,
        };
        var warmup = Int("--warmup", "Warm-up steps", 100);
        var evalEvery = Int("--eval-every", "Validate every N steps", 250);
        var checkpointEvery = Int("--checkpoint-every", "Checkpoint every N steps", 100);
        var seed = Int("--seed", "Initialisation and sampling seed", 1);
        var threads = Int("--threads", "Threads", Environment.ProcessorCount);
        var resume = new Option<bool>("--resume") { Description = "Continue from the checkpoint in --out" };
        var command = new Command("pretrain",
            "Pretrain a T5-style encoder-decoder by span corruption, or LM-adapt one.");
        foreach (var o in new Option[] { corpus, output, objective, initFrom, tokenizerPath, width, layers, heads, ffn,
            window, steps, batch, lr, warmup, evalEvery, checkpointEvery, seed, threads, resume })
            command.Options.Add(o);
        command.SetAction(parse =>
        {
            Parallelism.Threads = parse.GetValue(threads);
            string outDir = parse.GetValue(output)!, corpusDir = parse.GetValue(corpus)!,
                objectiveName = parse.GetValue(objective)!;
            bool lmAdaptation = objectiveName switch
            {
                "span-corruption" => false,
                "lm-adaptation" => true,
                _ => throw new ArgumentException(
                    $"Unknown --objective '{objectiveName}' (known: span-corruption, lm-adaptation)."),
            };
            string? initDir = parse.GetValue(initFrom);
            if (lmAdaptation && initDir is null)
                throw new ArgumentException(
                    "--objective lm-adaptation continues a span-corruption model: give it with --init-from.");
            var progress = new ConsoleProgress();
            var clock = Stopwatch.StartNew();
            Directory.CreateDirectory(outDir);
            string tokenizerFile = Path.Combine(outDir, TokenizerJson.FileName);

            T5 model;
            ITokenizer tokenizer;
            if (initDir is not null)
            {
                var loaded = ModelLoader.LoadT5(initDir);
                model = loaded.Model;
                tokenizer = loaded.Tokenizer ?? throw new FileNotFoundException(
                    $"--init-from {initDir}: the model has no tokenizer.json.");
                if (Path.GetFullPath(initDir) != Path.GetFullPath(outDir)) File.Copy(Path.Combine(initDir,
                    TokenizerJson.FileName), tokenizerFile, overwrite: true);
            }
            else
            {
                tokenizer = WithSentinels(parse.GetValue(tokenizerPath)!, tokenizerFile);
                model = new T5(new ModelConfig
                {
                    Architecture = Architecture.T5, VocabSize = tokenizer.VocabSize, HiddenSize = parse.GetValue(width),
                    NumLayers = parse.GetValue(layers), DecoderLayers = parse.GetValue(layers),
                    NumHeads = parse.GetValue(heads),
                    NumKvHeads = parse.GetValue(heads), IntermediateSize = parse.GetValue(ffn), MaxPositions = 512,
                    NormEps = 1e-6f,
                    HiddenAct = "relu", TieWordEmbeddings = true, PadTokenId = tokenizer.PadId, DecoderStartTokenId =
                        tokenizer.PadId,
                    EosTokenId = tokenizer.EosId,
                });
                model.InitializeRandom(parse.GetValue(seed));
            }
            int eos = tokenizer.EosId ?? throw new InvalidDataException(
                $"{tokenizerFile}: the tokenizer has no end-of-sequence token.");
            int pad = tokenizer.PadId ?? throw new InvalidDataException(
                $"{tokenizerFile}: the tokenizer has no <pad> token.");

            progress.Message("Encoding the corpus...");
            var train = TokenCorpus.FromDocuments(TextCorpus.ReadDocuments(Path.Combine(corpusDir, "train.txt")),
                tokenizer.Encode, eos);
            var validation = TokenCorpus.FromDocuments(TextCorpus.ReadDocuments(Path.Combine(corpusDir,
                "validation.txt")), tokenizer.Encode, eos);
            int windowLength = parse.GetValue(window), batchSize = parse.GetValue(batch);
            var options = new PretrainOptions
            {
                BatchSize = batchSize, Context = windowLength, Steps = parse.GetValue(steps),
                WarmupSteps = parse.GetValue(warmup),
                PeakLearningRate = parse.GetValue(lr), EvaluateEvery = parse.GetValue(evalEvery),
                CheckpointEvery = parse.GetValue(checkpointEvery),
                Seed = parse.GetValue(seed), EvaluationBatches = 8,
            };
            IPretrainingObjective task = lmAdaptation
                ? new PrefixLanguageModelObjective(model, train, validation, batchSize, windowLength / 4,
                    windowLength * 3 / 4, windowLength / 4, pad, options.EvaluationBatches)
                : new SpanCorruptionObjective(model, new SpanCorruption(Sentinels(tokenizer), eos), train, validation,
                    batchSize, windowLength, options.EvaluationBatches);
            var c = model.Config;
            progress.Message(
                $"Model: T5, {model.ParameterCount:N0} parameters ({c.NumLayers}+{c.DecoderLayers} blocks × " +
                $"{c.HiddenSize}, {c.NumHeads} heads, MLP {c.IntermediateSize}); " +
                             $"{objectiveName} on {train.Length:N0} training tokens.");
            var trainer = new Pretrainer(model, options, progress);
            using var stop = new CancellationTokenSource();
            using var interrupt = System.Runtime.InteropServices.PosixSignalRegistration.Create(
                System.Runtime.InteropServices.PosixSignal.SIGINT, ctx => { ctx.Cancel = true; stop.Cancel(); });
            using var terminate = System.Runtime.InteropServices.PosixSignalRegistration.Create(
                System.Runtime.InteropServices.PosixSignal.SIGTERM, ctx => { ctx.Cancel = true; stop.Cancel(); });
            var result = trainer.Run(task, Path.Combine(outDir, "checkpoint"), parse.GetValue(resume),
                onBest: (_, _) => ModelLoader.Save(model, outDir, SafeTensorsDType.BF16), stop.Token);
            string reproduce = $"softprompt t5 pretrain --objective {objectiveName} --out {outDir} " +
                               (initDir is null
                                   ? $"--tokenizer {parse.GetValue(tokenizerPath)} --width {c.HiddenSize} --layers " +
                                   $"{c.NumLayers} --heads {c.NumHeads} --ffn {c.IntermediateSize}"
                                   : $"--init-from {initDir}") +
                               $" --window {windowLength} --steps {options.Steps} --batch {batchSize} --lr " +
                                   $"{options.PeakLearningRate} --warmup {options.WarmupSteps} --seed {options.Seed}";
            WriteCard(Path.Combine(outDir, "MODEL_CARD.md"), model, objectiveName, initDir, result, options.Steps,
                train.Length, clock.Elapsed, reproduce, corpusDir);
            progress.Message(
                $"Done in {clock.Elapsed}: best step {result.BestStep}, validation loss " +
                $"{result.BestValidationLoss:F4} ({objectiveName}) → {outDir}");
            return result.Stopped ? 1 : 0;
        });
        return command;
    }

    private static Command BuildGenerate()
    {
        var model = CommonOptions.Model("T5 model directory (ours, or a Hugging Face t5 / flan-t5 folder)",
            "models/t5-small-lm");
        var prompt = new Option<string>("--prompt") { Description = "The encoder's input text", Required = true };
        var maxTokens = Int("--max-tokens", "New tokens at most", 40);
        var adapter = new Option<string?>("--adapter")
        {
            Description = "A T5 adapter to decode with: prompt tuning (before the input) or prefix",
        };
        var command = new Command("generate", "Encode a text and write the decoder's greedy answer, token by token.");
        foreach (var o in new Option[] { model, prompt, maxTokens, adapter }) command.Options.Add(o);
        command.SetAction(parse =>
        {
            var loaded = ModelLoader.LoadT5(parse.GetValue(model)!);
            var tokenizer = loaded.Tokenizer ?? throw new FileNotFoundException(
                $"The model at {loaded.Source} has no tokenizer.json.");
            int? eos = tokenizer.EosId ?? loaded.Model.Config.EosTokenId;
            var input = tokenizer.Encode(parse.GetValue(prompt)!).ToList();
            if (eos is int end) input.Add(end); // T5 reads every input with its closing </s>
            // read (and checked against this T5) before anything is written
            var trained = parse.GetValue(adapter) is string directory
                ? AdapterDirectory.LoadOnT5(directory, loaded.Model) : null;
            var decoder = new IncrementalDecoder(tokenizer, Array.Empty<int>());
            T5Generation.Greedy(loaded.Model, trained, input, parse.GetValue(maxTokens), eos,
                id => Console.Write(decoder.Add(id)));
            Console.WriteLine();
            return 0;
        });
        return command;
    }

    /// <summary>The sentinel ids &lt;extra_id_0&gt;, &lt;extra_id_1&gt;, … as the tokenizer has them (T5's files and
    /// ours).</summary>
    public static int[] Sentinels(ITokenizer tokenizer)
    {
        var ids = new List<int>();
        while (tokenizer.TokenId($"<extra_id_{ids.Count}>") is int id) ids.Add(id);
        if (ids.Count == 0)
            throw new InvalidDataException(
                "The tokenizer has no sentinel tokens (<extra_id_0>, …); span corruption needs them.");
        return ids.ToArray();
    }

    // The base tokenizer plus <pad> and the sentinels, numbered as T5 numbers them: <extra_id_0> is the last id.
    private static ITokenizer WithSentinels(string basePath, string outPath)
    {
        var bpe = TokenizerLoader.Load(basePath) as ByteLevelBpeTokenizer
                  ?? throw new ArgumentException(
                      $"--tokenizer {basePath}: a new T5 extends a byte-level BPE tokenizer.json (like " +
                      $"models/base-small's).");
        int next = bpe.VocabSize;
        var specials = bpe.SpecialTokens.ToList();
        specials.Add(new SpecialToken(next, "<pad>"));
        for (int i = 0; i < SentinelCount; i++) specials.Add(new SpecialToken(next + SentinelCount - i,
            $"<extra_id_{i}>"));
        TokenizerJson.Write(outPath, bpe, specials);
        return TokenizerLoader.Load(outPath);
    }

    private static void WriteCard(string path, T5 model, string objective, string? initDir, PretrainResult result,
        int plannedSteps,
        long trainTokens, TimeSpan elapsed, string reproduce, string corpusDir)
    {
        var c = model.Config;
        string origin = initDir is null
            ? "Trained from scratch by span corruption (15% of tokens, mean span 3, one sentinel per span)."
            : $"Continued from `{initDir}` with the prefix-LM objective (\"LM adaptation\", Lester et al. 2021): the " +
              "encoder reads a stretch of text, the decoder writes what follows.";
        string architecture = "T5 v1.0 (pre-RMS-norm blocks, relative position buckets " +
            $"{c.RelativeAttentionBuckets}/{c.RelativeAttentionMaxDistance}, ReLU MLP), tied head";
        string blocks = $"{c.NumLayers} encoder + {c.DecoderLayers} decoder × {c.HiddenSize}, {c.NumHeads} heads, " +
            $"MLP {c.IntermediateSize}";
        string tokenizer = $"the byte-level BPE of models/base-small plus `<pad>` and {SentinelCount} sentinels " +
            "(`tokenizer.json`)";
        string text = $"""
            # Base model: T5-style encoder-decoder, {model.ParameterCount / 1e6:F1}M parameters ({objective})

            Pretrained by `softprompt t5 pretrain` on the corpus in `{corpusDir}` (its README.md lists the sources,
            licences and hashes).
            {origin}

            | | |
            | --- | --- |
            | architecture | {architecture} |
            | parameters | {model.ParameterCount:N0} |
            | blocks × width | {blocks} |
            | tokenizer | {tokenizer} |
            | training corpus | {trainTokens:N0} tokens |
            | steps | {result.Steps:N0} of {plannedSteps:N0}; best validation at step {result.BestStep:N0} |
            | tokens seen | {result.TokensSeen:N0} (encoder + decoder positions) |
            | validation loss | {result.BestValidationLoss:F4} nats/target token ({objective}, 8 fixed batches) |
            | wall time | {elapsed:hh\:mm\:ss} with {Parallelism.Threads} thread(s) of a 2-core machine |

            Reproduce: `{reproduce}`
            """;
        File.WriteAllText(path, text + "\n");
    }
}
