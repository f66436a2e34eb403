using SoftPrompt.Data.Tokenizers;
using SoftPrompt.Engine;
using SoftPrompt.Engine.Autograd;
using SoftPrompt.Models;
using SoftPrompt.Tuning.PromptTuning;

namespace SoftPrompt.Tuning.Heads;

/// <summary>
/// What the head objectives share: a frozen model, optionally an adapter inside it (a prefix, deep prompts, …), and a
/// <see cref="LinearHead"/> reading final hidden states. The adapter and the head train together and are saved
/// together, the head beside the adapter's files. A causal model reads the text as it is; a bidirectional encoder
/// (BERT) reads it as "[CLS] text [SEP]", the form it was pretrained on, with its right padding masked.
/// </summary>
public abstract class HeadObjective<TExample> : IPromptObjective<TExample>
{
    private readonly int _cls, _sep;

    /// <param name="classes">What the head must score, in order (the task's labels or tags); <paramref name="owner"/>
    /// names them in the error when a loaded head was made for something else.</param>
    protected HeadObjective(TransformerModel model, ITokenizer tokenizer, ITrainableAdapter? adapter, LinearHead head,
        string headFile,
        IReadOnlyList<string> classes, string owner)
    {
        if (!head.Classes.SequenceEqual(classes))
            throw new ArgumentException(
                $"The head's classes [{string.Join(", ", head.Classes)}] are not {owner} " +
                $"[{string.Join(", ", classes)}].");
        if (head.Width != model.Config.HiddenSize)
            throw new ArgumentException(
                $"The head reads hidden states of width {head.Width}; the model's are {model.Config.HiddenSize}.");
        if (!model.IsCausal)
        {
            _cls = tokenizer.TokenId("[CLS]") ?? throw new ArgumentException(
                "An encoder's head objective needs a tokenizer with [CLS].");
            _sep = tokenizer.TokenId("[SEP]") ?? throw new ArgumentException(
                "An encoder's head objective needs a tokenizer with [SEP].");
        }
        Model = model;
        Tokenizer = tokenizer;
        Adapter = adapter;
        Head = head;
        HeadFile = headFile;
    }

    protected TransformerModel Model { get; }
    protected ITokenizer Tokenizer { get; }
    public ITrainableAdapter? Adapter { get; }
    public LinearHead Head { get; }
    /// <summary>The head's file name inside the adapter directory.</summary>
    public string HeadFile { get; }

    /// <summary>No soft prompt at the input: what trains is the adapter and the head.</summary>
    public PromptEmbedding? Prompt => null;

    /// <summary>What the trainer updates: the adapter's tensors and the head.</summary>
    public IReadOnlyList<Tensor> Trainable => [.. Adapter?.Trainable ?? [], .. Head.Tensors];

    public long StoredValueCount => (Adapter?.StoredValueCount ?? 0) + Head.Weight.Length + Head.Bias.Length;

    /// <summary>The adapter's directory (if there is an adapter) with the head's file beside it.</summary>
    public void Save(string directory, string baseModel)
    {
        Directory.CreateDirectory(directory);
        Head.Save(Path.Combine(directory, HeadFile));
        Adapter?.Save(directory, baseModel);
    }

    /// <summary>How many of the model's positions the text may take: an encoder's [CLS] and [SEP] take two.</summary>
    protected int TextPositions => Model.Config.MaxPositions - (Model.IsCausal ? 0 : 2);

    /// <summary>Where the text's first token sits in the row the model reads (after an encoder's [CLS]).</summary>
    protected int TextStart => Model.IsCausal ? 0 : 1;

    public abstract Tensor Loss(Tape tape, IReadOnlyList<TExample> batch);
    public abstract double Score(IReadOnlyList<TExample> examples);
    public abstract string ScoreName { get; }

    /// <summary>
    /// Head scores (N, C) of the final hidden states at <paramref name="positions"/>[r] of each row r; positions count
    /// in the row the model reads, so an encoder's [CLS] is 0 and the text starts at <see cref="TextStart"/>. Rows are
    /// right-padded, so each starts at position 0: causal attention keeps the padding out of every real position, and
    /// an encoder, which attends both ways, is told which positions are padding.
    /// </summary>
    protected Tensor HeadLogits(Tape tape, IReadOnlyList<int[]> texts, IReadOnlyList<int[]> positions)
    {
        var rows = Model.IsCausal ? texts : texts.Select(text => (int[])[_cls, .. text, _sep]).ToList();
        int b = rows.Count, t = rows.Max(r => r.Length), d = Model.Config.HiddenSize;
        var ids = new int[b * t];
        Array.Fill(ids, Model.IsCausal ? Tokenizer.EosId ?? 0 : Tokenizer.PadId ?? 0);
        var padding = Model.IsCausal ? null : new bool[b * t];
        var gather = new List<int>();
        for (int r = 0; r < b; r++)
        {
            rows[r].CopyTo(ids, r * t);
            if (padding is not null) padding.AsSpan((r * t + rows[r].Length)..((r + 1) * t)).Fill(true);
            foreach (int p in positions[r]) gather.Add(r * t + p);
        }
        var hidden = Model.Hidden(tape, new ForwardInput { Batch = b, Length = t, TokenIds = ids, Padding = padding,
            Hooks = Adapter?.Hooks(new int[b]) });
        // Gathering rows is an embedding lookup with the hidden states as the table (backward scatters the gradient
        // back).
        return Head.Logits(tape, Fn.Embedding(tape, hidden.Reshape(b * t, d), gather.ToArray()));
    }

    /// <summary>Runs <paramref name="score"/> over chunks of <paramref name="examples"/> on a tape that records
    /// nothing.</summary>
    protected static TOut[] InBatches<TOut>(IReadOnlyList<TExample> examples, int batchSize, Func<Tape,
        IReadOnlyList<TExample>, TOut[]> score)
    {
        if (batchSize < 1) throw new ArgumentException($"The batch size must be at least 1 (got {batchSize}).");
        var tape = new Tape(recording: false);
        var results = new List<TOut>(examples.Count);
        for (int start = 0; start < examples.Count; start += batchSize)
        {
            tape.Reset();
            var chunk = examples.Skip(start).Take(batchSize).ToList();
            results.AddRange(score(tape, chunk));
        }
        tape.Reset();
        return results.ToArray();
    }

    /// <summary>The highest-scoring class of each row of <paramref name="logits"/> (N, C).</summary>
    protected string[] Best(Tensor logits)
    {
        int c = Head.Classes.Count;
        var s = logits.ReadOnlySpan;
        var best = new string[logits.Length / c];
        for (int i = 0; i < best.Length; i++)
        {
            var row = s.Slice(i * c, c);
            int arg = 0;
            for (int j = 1; j < c; j++) if (row[j] > row[arg]) arg = j;
            best[i] = Head.Classes[arg];
        }
        return best;
    }
}
