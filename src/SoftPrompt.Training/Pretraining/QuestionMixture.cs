using System.Text.Json;
using SoftPrompt.Data.Tasks;
using SoftPrompt.Engine;
using SoftPrompt.Engine.Autograd;
using SoftPrompt.Models;
using SoftPrompt.Training.Progress;

namespace SoftPrompt.Training.Pretraining;

/// <summary>One question of a multitask mixture: the text up to "Answer:" and the answer's tokens.</summary>
public sealed record QuestionExample(int[] Prompt, int[] Answer);

/// <summary>
/// A mixture of text-to-text questions ("Passage: … Question: … Answer:" → " yes") for continued pretraining: the
/// "LM adaptation + multitask" step that makes a base model promptable (Lester et al. 2021; T0, FLAN). Rows are packed
/// with whole examples, each followed by the end-of-text token; only the answers' tokens are scored, so the model
/// learns to read the text before the last position and answer there.
/// </summary>
public sealed class QuestionMixture
{
    private readonly QuestionExample[] _examples;
    private readonly int _separator;

    public QuestionMixture(IEnumerable<QuestionExample> examples, int separator)
    {
        _examples = examples.ToArray();
        _separator = separator;
        if (_examples.Length == 0) throw new ArgumentException("The question mixture is empty.");
    }

    public int Count => _examples.Length;

    /// <summary>
    /// Reads a JSONL file of {"prompt": …, "answer": …} rows (the answer with its leading space, as it follows
    /// "Answer:"). Examples longer than <paramref name="context"/> tokens are left out.
    /// </summary>
    public static QuestionMixture Read(string path, Func<string, int[]> encode, int separator, int context)
    {
        var rows = TaskFile.ReadJsonLines(path, (row, line) =>
        {
            string Field(string name) => row.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String
                && v.GetString() is { Length: > 0 } s
                ? s
                : throw new InvalidDataException($"{path}, line {line}: no \"{name}\" text.");
            return new QuestionExample(encode(Field("prompt")), encode(Field("answer")));
        });
        return new QuestionMixture(rows.Where(e => e.Prompt.Length + e.Answer.Length + 1 <= context
            && e.Answer.Length > 0), separator);
    }

    /// <summary>
    /// Fills each of <paramref name="rows"/> rows of <paramref name="context"/> positions with examples drawn by
    /// <paramref name="random"/> (or, when it is null, taken in order from index <paramref name="next"/> up to the last
    /// example, once each: an evaluation pass), each followed by the separator; the rest of a row is separators.
    /// Targets are <see cref="TokenMasking.Ignored"/> except at the positions that predict an answer token. Returns how
    /// many answer tokens are scored.
    /// </summary>
    public int Pack(Random? random, ref int next, int rows, int context, int[] inputs, int[] targets)
    {
        Array.Fill(inputs, _separator);
        Array.Fill(targets, TokenMasking.Ignored);
        int scored = 0;
        for (int r = 0; r < rows; r++)
        {
            int at = r * context, end = at + context;
            while (random is not null || next < _examples.Length)
            {
                var example = _examples[random is null ? next : random.Next(_examples.Length)];
                int length = example.Prompt.Length + example.Answer.Length + 1;
                if (at + length > end) break;
                if (random is null) next++;
                example.Prompt.CopyTo(inputs, at);
                example.Answer.CopyTo(inputs, at + example.Prompt.Length);
                // Position i predicts token i + 1: the last prompt position predicts the first answer token.
                for (int k = 0; k < example.Answer.Length; k++)
                    targets[at + example.Prompt.Length - 1 + k] = example.Answer[k];
                scored += example.Answer.Length;
                at += length;
            }
        }
        return scored;
    }
}

/// <summary>
/// Next-token pretraining on a corpus plus a question mixture, both in every step: the corpus rows' mean next-token
/// loss plus the mixture rows' mean answer loss. Validation is the sum of the same two on held-out windows and
/// questions (reported apart, with the share of answers whose first token is the model's top choice).
/// </summary>
public sealed class MixtureObjective(TransformerModel model, PretrainOptions options, TokenCorpus train,
    TokenCorpus validation,
    QuestionMixture questions, QuestionMixture heldOutQuestions, ITrainingProgress progress) : IPretrainingObjective
{
    private readonly int[] _inputs = new int[options.BatchSize * options.Context],
        _targets = new int[options.BatchSize * options.Context];
    private readonly int[] _mixInputs = new int[options.MixtureRows * options.Context],
        _mixTargets = new int[options.MixtureRows * options.Context];

    public (Tensor Loss, long Tokens) TrainingLoss(Tape tape, Random random)
    {
        int b = options.BatchSize, t = options.Context, m = options.MixtureRows;
        train.SampleBatch(random, b, t, _inputs, _targets);
        var corpusLoss = model.LanguageModelLoss(tape, model.Hidden(tape, new ForwardInput { Batch = b, Length = t,
            TokenIds = _inputs }), _targets);
        int unused = 0;
        questions.Pack(random, ref unused, m, t, _mixInputs, _mixTargets);
        var answerLoss = model.LanguageModelLoss(tape, model.Hidden(tape, new ForwardInput { Batch = m, Length = t,
            TokenIds = _mixInputs }), _mixTargets);
        return (Fn.Add(tape, corpusLoss, answerLoss), (long)(b + m) * t);
    }

    public bool ValidationLossIsPerToken => false;

    public float ValidationLoss()
    {
        float corpus = Pretrainer.MeanLoss(model, validation, options.BatchSize, options.Context,
            options.EvaluationBatches);
        var (answers, firstTokenAccuracy) = AnswerLoss(model, heldOutQuestions, options.MixtureRows, options.Context);
        progress.Message(
            $"  corpus loss {corpus:F4}, answer loss {answers:F4}, answers' first token right {firstTokenAccuracy:P1}");
        return corpus + answers;
    }

    /// <summary>Mean answer-token loss over every held-out question (packed in order), and how often the first answer
    /// token is the model's most likely next token.</summary>
    public static (float Loss, double FirstTokenAccuracy) AnswerLoss(TransformerModel model, QuestionMixture questions,
        int rowsPerBatch, int context)
    {
        var tape = new Tape(recording: false);
        var inputs = new int[rowsPerBatch * context];
        var targets = new int[rowsPerBatch * context];
        double total = 0;
        long count = 0, firsts = 0, right = 0;
        for (int next = 0; next < questions.Count;)
        {
            int scored = questions.Pack(null, ref next, rowsPerBatch, context, inputs, targets);
            if (scored == 0) break;
            tape.Reset();
            var hidden = model.Hidden(tape, new ForwardInput { Batch = rowsPerBatch, Length = context,
                TokenIds = inputs });
            int vocab = model.Config.VocabSize;
            var logits = model.Logits(tape, hidden).Reshape(-1, vocab); // once: for the loss and for the top choices
            total += Fn.CrossEntropy(tape, logits, targets)[0] * (double)scored;
            count += scored;
            for (int i = 0; i < targets.Length; i++)
            {
                // a first answer token: scored here, and the position before it is not (it predicts "Answer:"'s end)
                if (targets[i] == TokenMasking.Ignored || (i > 0 && targets[i - 1] != TokenMasking.Ignored
                    && i % context != 0)) continue;
                var row = logits.ReadOnlySpan.Slice(i * vocab, vocab);
                int best = 0;
                for (int v = 1; v < vocab; v++) if (row[v] > row[best]) best = v;
                firsts++;
                if (best == targets[i]) right++;
            }
        }
        tape.Reset();
        return ((float)(total / Math.Max(1, count)), firsts == 0 ? 0 : (double)right / firsts);
    }
}

/// <summary>Where a corpus folder keeps its question mixture (written by tools/make_mixture.py).</summary>
public static class MixtureFiles
{
    public const string Train = "mixture-train.jsonl";
    public const string Validation = "mixture-validation.jsonl";
}
