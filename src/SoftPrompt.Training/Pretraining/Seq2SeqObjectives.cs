using SoftPrompt.Engine;
using SoftPrompt.Models;

namespace SoftPrompt.Training.Pretraining;

/// <summary>One encoder-decoder batch: encoder ids (B, S) with right padding marked, targets (B, T) with −100 where
/// none.</summary>
public sealed record Seq2SeqBatch(int Batch, int[] EncoderIds, int EncoderLength, bool[]? EncoderPadding, int[] Targets,
    int TargetLength)
{
    /// <summary>Mean cross-entropy of the model's predictions of the targets (decoder fed the targets shifted
    /// right).</summary>
    public Tensor Loss(Tape tape, T5 model)
    {
        var encoded = model.Encode(tape, new ForwardInput { Batch = Batch, Length = EncoderLength,
            TokenIds = EncoderIds, Padding = EncoderPadding });
        var decoderInput = new ForwardInput { Batch = Batch, Length = TargetLength, TokenIds = model.ShiftRight(Targets,
            Batch, TargetLength) };
        return model.Loss(tape, model.Decode(tape, decoderInput, encoded, EncoderPadding), Targets);
    }
}

/// <summary>
/// Pretraining objectives of an encoder-decoder over a token corpus: each step's batch from the step's random source,
/// validation over a fixed set of batches drawn from a fixed seed.
/// </summary>
public abstract class Seq2SeqObjective(T5 model, TokenCorpus train, TokenCorpus validation, int batch,
    int evaluationBatches) : IPretrainingObjective
{
    protected abstract Seq2SeqBatch MakeBatch(Random random, TokenCorpus corpus, int rows);

    public (Tensor Loss, long Tokens) TrainingLoss(Tape tape, Random random)
    {
        var examples = MakeBatch(random, train, batch);
        return (examples.Loss(tape, model), (long)batch * (examples.EncoderLength + examples.TargetLength));
    }

    public float ValidationLoss()
    {
        var tape = new Tape(recording: false);
        var random = new Random(12345);
        double total = 0;
        long count = 0;
        for (int i = 0; i < evaluationBatches; i++)
        {
            var examples = MakeBatch(random, validation, batch);
            tape.Reset();
            int scored = examples.Targets.Count(t => t != -100);
            total += examples.Loss(tape, model)[0] * (double)scored;
            count += scored;
        }
        tape.Reset();
        return (float)(total / count);
    }

    protected static int WindowStart(Random random, TokenCorpus corpus, int window)
    {
        if (corpus.Length <= window)
            throw new InvalidOperationException(
                $"The corpus has {corpus.Length} tokens, fewer than one window of {window}.");
        return random.Next(corpus.Length - window);
    }
}

/// <summary>T5's span corruption over windows of <paramref name="window"/> tokens.</summary>
public sealed class SpanCorruptionObjective(T5 model, SpanCorruption corruption, TokenCorpus train,
    TokenCorpus validation, int batch, int window, int evaluationBatches)
    : Seq2SeqObjective(model, train, validation, batch, evaluationBatches)
{
    protected override Seq2SeqBatch MakeBatch(Random random, TokenCorpus corpus, int rows)
    {
        int inputLength = corruption.InputLength(window), targetLength = corruption.TargetLength(window);
        var inputs = new int[rows * inputLength];
        var targets = new int[rows * targetLength];
        for (int r = 0; r < rows; r++)
        {
            int start = WindowStart(random, corpus, window);
            corruption.Apply(random, corpus.Tokens.AsSpan(start, window), inputs.AsSpan(r * inputLength, inputLength),
                targets.AsSpan(r * targetLength, targetLength));
        }
        return new Seq2SeqBatch(rows, inputs, inputLength, null, targets, targetLength);
    }
}

/// <summary>
/// "LM adaptation" (Lester et al. 2021, §3.2): the prefix-LM objective — the encoder reads a stretch of natural text
/// (between <paramref name="minPrefix"/> and <paramref name="maxPrefix"/> tokens, right-padded), the decoder writes the
/// <paramref name="continuation"/> tokens that follow it — so that the model learns to produce natural text rather than
/// sentinel-marked spans.
/// </summary>
public sealed class PrefixLanguageModelObjective(T5 model, TokenCorpus train, TokenCorpus validation, int batch,
    int minPrefix, int maxPrefix,
    int continuation, int padId, int evaluationBatches) : Seq2SeqObjective(model, train, validation, batch,
        evaluationBatches)
{
    protected override Seq2SeqBatch MakeBatch(Random random, TokenCorpus corpus, int rows)
    {
        var inputs = new int[rows * maxPrefix];
        var padding = new bool[rows * maxPrefix];
        var targets = new int[rows * continuation];
        for (int r = 0; r < rows; r++)
        {
            int prefix = random.Next(minPrefix, maxPrefix + 1);
            int start = WindowStart(random, corpus, prefix + continuation);
            corpus.Tokens.AsSpan(start, prefix).CopyTo(inputs.AsSpan(r * maxPrefix));
            inputs.AsSpan(r * maxPrefix + prefix, maxPrefix - prefix).Fill(padId);
            padding.AsSpan(r * maxPrefix + prefix, maxPrefix - prefix).Fill(true);
            corpus.Tokens.AsSpan(start + prefix, continuation).CopyTo(targets.AsSpan(r * continuation));
        }
        return new Seq2SeqBatch(rows, inputs, maxPrefix, padding, targets, continuation);
    }
}
