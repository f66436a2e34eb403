using System.Diagnostics;
using SoftPrompt.Data.Tasks;
using SoftPrompt.Data.Tokenizers;
using SoftPrompt.Engine;
using SoftPrompt.Engine.IO;
using SoftPrompt.Models;
using SoftPrompt.Models.Formats;
using SoftPrompt.Training.Corpus;
using SoftPrompt.Training.Progress;

namespace SoftPrompt.Training.Pretraining;

/// <summary>
/// `softprompt pretrain` as a library run: a tokenizer (trained on the corpus, given, or the continued model's), the
/// corpus encoded once and cached beside the output, a model from a preset or continued from a directory, trained by
/// <see cref="Pretrainer"/> (with the question mixture where asked), the best model by validation loss written in
/// bfloat16 as a Hugging Face directory and measured again as saved.
/// </summary>
public static class PretrainingRun
{
    /// <param name="Preset">A <see cref="ModelPresets"/> name; ignored when <paramref name="InitFrom"/> is
    /// given.</param>
    /// <param name="Masked">A BERT encoder with masked tokens (WordPiece) instead of a LLaMA-style decoder
    /// (BPE).</param>
    /// <param name="Tokenizer">A tokenizer.json to use instead of training one.</param>
    /// <param name="TaskText">A task's training split whose <paramref name="TaskField"/> texts join the corpus
    /// <paramref name="TaskRepeats"/> times (task-adaptive pretraining).</param>
    /// <param name="Options">Steps, batch, schedule, seed, mixture rows; context and masking are set by the
    /// run.</param>
    public sealed record Settings(string CorpusDirectory, string OutDirectory, string Preset, bool Masked,
        string? InitFrom, string? Tokenizer, string? TaskText, string TaskField, int TaskRepeats, bool Resume,
        PretrainOptions Options);

    /// <param name="Saved">The best model as written (bfloat16), or null when the run stopped before its first
    /// evaluation and wrote none.</param>
    /// <param name="ValidationLoss">Of <paramref name="Saved"/>, over every validation window: for a decoder what
    /// `softprompt eval --perplexity` computes.</param>
    /// <param name="Options">The options the run trained with (context and masking filled in).</param>
    /// <param name="MixtureSha256">Of the mixture's training file, when questions were mixed in.</param>
    public sealed record Outcome(TransformerModel? Saved, PretrainResult Result, float ValidationLoss,
        long TrainTokens, long ValidationTokens, TimeSpan Elapsed, PretrainOptions Options, string? MixtureSha256);

    /// <summary>How perplexity is measured everywhere: non-overlapping windows of the model's context, batches of
    /// 16.</summary>
    public const int EvaluationBatch = 16;

    public static Outcome Run(Settings s, ITrainingProgress progress, CancellationToken stop)
    {
        var size = ModelPresets.Find(s.Preset);
        Directory.CreateDirectory(s.OutDirectory);
        var clock = Stopwatch.StartNew();

        var trainDocs = TextCorpus.ReadDocuments(Path.Combine(s.CorpusDirectory, "train.txt"));
        if (s.TaskText is string taskFile)
        {
            var taskDocs = TaskText(taskFile, s.TaskField);
            if (s.TaskRepeats < 1)
                throw new OptionException("TaskRepeats", $"must be at least 1 (got {s.TaskRepeats}).");
            for (int r = 0; r < s.TaskRepeats; r++) trainDocs.AddRange(taskDocs);
            progress.Message($"Task-adaptive pretraining: {taskDocs.Count:N0} documents from {taskFile}, " +
                $"{s.TaskRepeats}×.");
        }
        var initial = s.InitFrom is string initDir ? ModelLoader.Load(initDir) : null;
        var initialModel = initial is null ? null : s.Masked ? initial.Encoder : (TransformerModel)initial.Model;
        var validationDocs = TextCorpus.ReadDocuments(Path.Combine(s.CorpusDirectory, "validation.txt"));
        string tokenizerFile = Path.Combine(s.OutDirectory, TokenizerJson.FileName);
        var tokenizer = Tokenizer(s, tokenizerFile, initial, size.Vocab, trainDocs, progress);
        int separator = tokenizer.EosId ?? throw new InvalidDataException(
            $"{tokenizerFile}: the tokenizer has no end-of-text token to separate documents.");

        progress.Message("Encoding the corpus...");
        var train = EncodeCached(Path.Combine(s.OutDirectory, "train.tokens"), trainDocs, tokenizer, separator,
            s.Resume);
        var validation = EncodeCached(Path.Combine(s.OutDirectory, "validation.tokens"), validationDocs, tokenizer,
            separator, s.Resume);
        progress.Message($"Corpus: {train.Length:N0} training tokens, {validation.Length:N0} validation tokens " +
            $"({clock.Elapsed.TotalSeconds:F0} s).");

        var config = initialModel?.Config ?? (s.Masked
            ? new ModelConfig
            {
                Architecture = Architecture.Bert, VocabSize = tokenizer.VocabSize, HiddenSize = size.Width,
                NumLayers = size.Layers, NumHeads = size.Heads, IntermediateSize = size.Ffn,
                MaxPositions = size.Context, TypeVocabSize = 2, NormEps = 1e-12f, HiddenAct = "gelu",
                TieWordEmbeddings = true, PadTokenId = tokenizer.PadId,
            }
            : new ModelConfig
            {
                Architecture = Architecture.Llama, VocabSize = tokenizer.VocabSize, HiddenSize = size.Width,
                NumLayers = size.Layers, NumHeads = size.Heads, NumKvHeads = size.KvHeads,
                IntermediateSize = size.Ffn, MaxPositions = size.Context, NormEps = 1e-5f, RopeTheta = 10000f,
                TieWordEmbeddings = true, BosTokenId = separator, EosTokenId = separator,
            });
        var model = initialModel ?? TransformerModel.Create(config);
        if (initial is null) model.InitializeRandom(s.Options.Seed);
        else model.SetTrainable(true);
        var options = s.Options with
        {
            Context = initial is null ? size.Context : config.MaxPositions,
            Objective = s.Masked ? PretrainObjective.MaskedTokens : PretrainObjective.NextToken,
            Masking = s.Masked ? MaskingFor(tokenizer) : null,
        };
        progress.Message(initial is null
            ? $"Model: {(s.Masked ? "BERT" : "LLaMA-style")}, {model.ParameterCount:N0} parameters ({size.Layers} " +
                $"layers × {size.Width} wide, {size.Heads} heads{(s.Masked ? "" : $" / {size.KvHeads} kv")}, " +
                $"context {size.Context})."
            : $"Model: continuing {initial.Source} ({model.ParameterCount:N0} parameters, context " +
                $"{config.MaxPositions}).");

        var pretrainer = new Pretrainer(model, options, progress);
        IPretrainingObjective? mixture = null;
        string? mixtureSha256 = null;
        if (options.MixtureRows > 0)
        {
            string trainFile = Path.Combine(s.CorpusDirectory, MixtureFiles.Train);
            var questions = QuestionMixture.Read(trainFile, tokenizer.Encode, separator, options.Context);
            var heldOut = QuestionMixture.Read(Path.Combine(s.CorpusDirectory, MixtureFiles.Validation),
                tokenizer.Encode, separator, options.Context);
            progress.Message($"Question mixture: {questions.Count:N0} training and {heldOut.Count:N0} held-out " +
                $"questions, {options.MixtureRows} packed rows per step.");
            mixture = new MixtureObjective(model, options, train, validation, questions, heldOut, progress);
            mixtureSha256 = FileHash.Sha256(trainFile);
        }
        Action<int, float> saveBest = (_, _) => ModelLoader.Save(model, s.OutDirectory, SafeTensorsDType.BF16);
        string checkpoint = Path.Combine(s.OutDirectory, "checkpoint");
        var result = mixture is null
            ? pretrainer.Run(train, validation, checkpoint, s.Resume, saveBest, stop)
            : pretrainer.Run(mixture, checkpoint, s.Resume, saveBest, stop);
        if (!File.Exists(Path.Combine(s.OutDirectory, "model.safetensors")))
            return new Outcome(null, result, float.NaN, train.Length, validation.Length, clock.Elapsed, options,
                mixtureSha256);

        var saved = ModelLoader.Load(s.OutDirectory).Transformer;
        float validationLoss = Pretrainer.MeanLoss(saved, validation, EvaluationBatch, options.Context, int.MaxValue,
            options.Masking);
        return new Outcome(saved, result, validationLoss, train.Length, validation.Length, clock.Elapsed, options,
            mixtureSha256);
    }

    // The continued model's tokenizer, a given one, the one an interrupted run trained, or a new one trained on the
    // training documents; written into the output directory either way.
    private static ITokenizer Tokenizer(Settings s, string tokenizerFile, LoadedModel? initial, int vocabulary,
        List<string> trainDocs, ITrainingProgress progress)
    {
        if (initial is not null)
        {
            var continued = initial.Tokenizer ?? throw new OptionException("InitFrom",
                $"{initial.Source}: the model has no tokenizer to continue with.");
            File.Copy(Path.Combine(s.InitFrom!, TokenizerJson.FileName), tokenizerFile, overwrite: true);
            return continued;
        }
        if (s.Tokenizer is string given)
        {
            var loaded = TokenizerLoader.Load(given);
            File.Copy(given, tokenizerFile, overwrite: true);
            return loaded;
        }
        if (s.Resume && File.Exists(tokenizerFile)) return TokenizerLoader.Load(tokenizerFile);
        if (s.Masked)
        {
            progress.Message($"Training a WordPiece tokenizer of {vocabulary} tokens on {trainDocs.Count:N0} " +
                "documents...");
            var trainer = new WordPieceTrainer();
            foreach (var d in trainDocs) trainer.Add(d);
            var trained = trainer.Train(vocabulary);
            TokenizerJson.Write(tokenizerFile, trained);
            return trained;
        }
        else
        {
            progress.Message($"Training a byte-level BPE tokenizer of {vocabulary} tokens on {trainDocs.Count:N0} " +
                "documents...");
            var trainer = new BpeTrainer();
            foreach (var d in trainDocs) trainer.Add(d);
            var trained = trainer.Train(vocabulary, new[] { "<|endoftext|>" });
            TokenizerJson.Write(tokenizerFile, trained);
            return trained;
        }
    }

    /// <summary>The given field of every row of a task file, as pretraining documents. Held-out splits are refused:
    /// pretraining on them would leak the test into every later evaluation.</summary>
    private static List<string> TaskText(string path, string field)
    {
        string name = Path.GetFileNameWithoutExtension(path).ToLowerInvariant();
        if (name is "validation" or "test" or "dev")
            throw new OptionException("TaskText", $"{path}: only a training split may join the pretraining corpus " +
                "(this looks like a held-out split).");
        return TaskFile.ReadRows(path).Select(row => row.Fields.TryGetValue(field, out var text)
            && !string.IsNullOrWhiteSpace(text)
            ? text
            : throw new InvalidDataException($"{path}, line {row.Line}: no \"{field}\" text.")).ToList();
    }

    private static TokenMasking MaskingFor(ITokenizer tokenizer)
    {
        var wordPiece = tokenizer as WordPieceTokenizer ?? throw new OptionException("Objective",
            "mlm needs a WordPiece tokenizer (with [MASK]); train one by leaving out --tokenizer.");
        int mask = wordPiece.MaskId ?? throw new OptionException("Objective",
            "mlm: the tokenizer has no [MASK] token.");
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
