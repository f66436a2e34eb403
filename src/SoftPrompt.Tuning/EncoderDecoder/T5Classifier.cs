using SoftPrompt.Data.Tasks;
using SoftPrompt.Data.Tokenizers;
using SoftPrompt.Engine;
using SoftPrompt.Engine.Autograd;
using SoftPrompt.Models;
using SoftPrompt.Models.Generation;
using SoftPrompt.Tuning.PromptTuning;

namespace SoftPrompt.Tuning.EncoderDecoder;

/// <summary>
/// Classification as text-to-text on a T5 (Lester et al. 2021): the encoder reads [P; rendered example; &lt;/s&gt;],
/// the decoder writes the label's verbalizer word and &lt;/s&gt;. Training is teacher-forced cross-entropy on the gold
/// label's tokens; prediction ranks the labels by log Pr(label tokens, &lt;/s&gt; | input) (rank classification), and
/// <see cref="ExactMatch"/> scores free greedy decoding the way the paper did — where a model that only ever learned
/// to fill sentinel-marked spans fails even when its ranking is right. A prefix or other adapter joins through
/// <see cref="Adapter"/> (its hooks see encoder and decoder blocks, see <see cref="T5"/>).
/// </summary>
public sealed class T5Classifier : IPromptObjective<LabeledExample>, ILabelPredictor
{
    private readonly T5 _model;
    private readonly ITokenizer _tokenizer;
    private readonly int _endOfSequence;

    public T5Classifier(T5 model, ITokenizer tokenizer, ClassificationTask task, PromptEmbedding? prompt,
        int maxInputTokens = 256)
    {
        _model = model;
        _tokenizer = tokenizer;
        Task = task;
        Prompt = prompt;
        MaxInputTokens = maxInputTokens;
        _endOfSequence = tokenizer.EosId ?? model.Config.EosTokenId
            ?? throw new ArgumentException(
                "T5 classification needs an end-of-sequence token; neither the tokenizer nor config.json names one.");
        LabelTokens = task.Labels.ToDictionary(l => l, l => tokenizer.Encode(task.Verbalizer[l]).Append(_endOfSequence)
            .ToArray());
        if (prompt is not null && prompt.Prompt.Dim(1) != model.Config.HiddenSize)
            throw new ArgumentException(
                $"A soft prompt {prompt.Prompt.Dim(1)} wide cannot precede a T5 of width {model.Config.HiddenSize}.");
    }

    public ClassificationTask Task { get; }
    public PromptEmbedding? Prompt { get; }
    public IModelAdapter? Adapter { get; init; }
    public int MaxInputTokens { get; }
    public IReadOnlyDictionary<string, int[]> LabelTokens { get; }
    public string ScoreName => "accuracy";

    /// <summary>The rendered example's tokens and &lt;/s&gt;; an input too long loses its start, so that the template's
    /// closing question stays.</summary>
    public int[] InputTokens(LabeledExample example)
    {
        var ids = _tokenizer.Encode(Task.Render(example));
        int keep = MaxInputTokens - 1 - (Prompt?.Length ?? 0);
        if (ids.Length > keep) ids = ids[^keep..];
        return ids.Append(_endOfSequence).ToArray();
    }

    public Tensor Loss(Tape tape, IReadOnlyList<LabeledExample> batch)
    {
        var (encoded, padding, hooks) = Encode(tape, batch);
        var targets = batch.Select(e => LabelTokens[e.Label]).ToList();
        int length = targets.Max(t => t.Length);
        var flat = new int[batch.Count * length];
        Array.Fill(flat, -100);
        for (int r = 0; r < batch.Count; r++) targets[r].CopyTo(flat, r * length);
        var decoded = Decode(tape, _model.ShiftRight(flat, batch.Count, length), batch.Count, length, encoded, padding,
            hooks);
        return _model.Loss(tape, decoded, flat);
    }

    public double Score(IReadOnlyList<LabeledExample> examples) => this.Evaluate(examples).Accuracy;

    public string[] Predict(IReadOnlyList<LabeledExample> examples) => Predicted(LabelLogProbabilities(examples));

    /// <summary>Mean over examples of −log Pr(gold label tokens, &lt;/s&gt; | input) per target token: how well the
    /// model writes the answer, which moves before the ranking does.</summary>
    public double GoldLabelLoss(IReadOnlyList<LabeledExample> examples) => GoldLabelLoss(examples,
        LabelLogProbabilities(examples));

    /// <summary>Accuracy, macro-F1 and gold-label loss from one scoring of the examples.</summary>
    public (double Accuracy, double MacroF1, double LabelLoss) Metrics(IReadOnlyList<LabeledExample> examples)
    {
        var scores = LabelLogProbabilities(examples);
        var (accuracy, macroF1) = LabelPredictorExtensions.Score(examples, Predicted(scores), Task.Labels);
        return (accuracy, macroF1, GoldLabelLoss(examples, scores));
    }

    private string[] Predicted(double[][] scores) => LabelPredictorExtensions.HighestScoring(scores, Task.Labels);

    private double GoldLabelLoss(IReadOnlyList<LabeledExample> examples, double[][] scores)
    {
        var labels = Task.Labels.ToList();
        return examples.Select((e, i) => -scores[i][labels.IndexOf(e.Label)] / LabelTokens[e.Label].Length).Average();
    }

    /// <summary>log Pr(label tokens, &lt;/s&gt; | input) of every label for every example, (N, labels): one encoder
    /// pass per batch, one decoder pass per label.</summary>
    public double[][] LabelLogProbabilities(IReadOnlyList<LabeledExample> examples, int batchSize = 16)
    {
        var result = new double[examples.Count][];
        var tape = new Tape(recording: false);
        for (int start = 0; start < examples.Count; start += batchSize)
        {
            var batch = examples.Skip(start).Take(batchSize).ToList();
            tape.Reset();
            var (encoded, padding, hooks) = Encode(tape, batch);
            for (int r = 0; r < batch.Count; r++) result[start + r] = new double[Task.Labels.Count];
            for (int l = 0; l < Task.Labels.Count; l++)
            {
                var target = LabelTokens[Task.Labels[l]];
                var flat = Enumerable.Range(0, batch.Count).SelectMany(_ => target).ToArray();
                var logits = _model.Logits(tape, Decode(tape, _model.ShiftRight(flat, batch.Count, target.Length),
                    batch.Count, target.Length, encoded, padding, hooks));
                for (int r = 0; r < batch.Count; r++)
                    result[start + r][l] = SequenceLogProbability(logits.ReadOnlySpan.Slice(
                        r * target.Length * _model.Config.VocabSize, target.Length * _model.Config.VocabSize), target);
            }
        }
        tape.Reset();
        return result;
    }

    /// <summary>Share of examples whose greedy decoding (up to the longest label plus &lt;/s&gt;) is exactly the gold
    /// label's tokens followed by &lt;/s&gt;.</summary>
    public double ExactMatch(IReadOnlyList<LabeledExample> examples, int batchSize = 16)
    {
        int maxLength = LabelTokens.Values.Max(t => t.Length), hits = 0;
        var tape = new Tape(recording: false);
        for (int start = 0; start < examples.Count; start += batchSize)
        {
            var batch = examples.Skip(start).Take(batchSize).ToList();
            tape.Reset();
            var (encoded, padding, hooks) = Encode(tape, batch);
            // no end token: the answer must be the label's tokens with </s> among them, not merely stop early
            var written = Seq2SeqGenerator.Greedy(_model, tape, encoded, padding, hooks, maxLength,
                endOfSequence: null);
            for (int r = 0; r < batch.Count; r++)
            {
                var gold = LabelTokens[batch[r].Label];
                if (written[r].Take(gold.Length).SequenceEqual(gold)) hits++;
            }
        }
        tape.Reset();
        return hits / (double)examples.Count;
    }

    // Encoder output (B, S, D) of [P; tokens] rows, right-padded, and the adapter's hooks for this batch.
    private (Tensor Encoded, bool[]? Padding, ILayerHooks? Hooks) Encode(Tape tape, IReadOnlyList<LabeledExample> batch)
    {
        var rows = batch.Select(InputTokens).ToList();
        int p = Prompt?.Length ?? 0, textLength = rows.Max(r => r.Length), length = p + textLength;
        var ids = new int[batch.Count * textLength];
        var padding = new bool[batch.Count * length];
        bool padded = false;
        for (int r = 0; r < rows.Count; r++)
        {
            rows[r].CopyTo(ids, r * textLength);
            for (int t = rows[r].Length; t < textLength; t++)
            {
                ids[r * textLength + t] = _model.Config.PadTokenId ?? 0;
                padding[r * length + p + t] = true;
                padded = true;
            }
        }
        var hooks = Adapter?.Hooks(new int[batch.Count]);
        var text = Fn.Embedding(tape, _model.TokenEmbedding, ids, batch.Count, textLength);
        var embeddings = Prompt is null ? text : Prompt.Prepend(tape, text);
        var input = new ForwardInput { Batch = batch.Count, Length = length, Embeddings = embeddings,
            Padding = padded ? padding : null, Hooks = hooks };
        return (_model.Encode(tape, input), input.Padding, hooks);
    }

    private Tensor Decode(Tape tape, int[] decoderIds, int batch, int length, Tensor encoded, bool[]? padding,
        ILayerHooks? hooks) =>
        _model.Decode(tape, new ForwardInput { Batch = batch, Length = length, TokenIds = decoderIds, Hooks = hooks },
            encoded, padding);

    // Σ_t log softmax(logits_t)[target_t] over one row's (T, V) logits.
    private static double SequenceLogProbability(ReadOnlySpan<float> logits, int[] target)
    {
        int vocab = logits.Length / target.Length;
        double total = 0;
        for (int t = 0; t < target.Length; t++)
        {
            var row = logits.Slice(t * vocab, vocab);
            float max = System.Numerics.Tensors.TensorPrimitives.Max(row);
            double sum = 0;
            foreach (float v in row) sum += Math.Exp(v - max);
            total += row[target[t]] - max - Math.Log(sum);
        }
        return total;
    }
}
