using SoftPrompt.Data.Tokenizers;
using SoftPrompt.Engine;
using SoftPrompt.Engine.Autograd;
using SoftPrompt.Models;
using SoftPrompt.Tuning.PromptTuning;

namespace SoftPrompt.Tuning.Heads;

/// <summary>
/// What the head objectives share: a frozen model, optionally an adapter inside it (a prefix, deep prompts, …), and a
/// <see cref="LinearHead"/> reading final hidden states. The adapter and the head train together and are saved
/// together, the head beside the adapter's files.
/// </summary>
public abstract class HeadObjective<TExample> : IPromptObjective<TExample>
{
    protected HeadObjective(CausalLanguageModel model, ITokenizer tokenizer, ITrainableAdapter? adapter, LinearHead head, string headFile)
    {
        if (head.Width != model.Config.HiddenSize)
            throw new ArgumentException($"The head reads hidden states of width {head.Width}; the model's are {model.Config.HiddenSize}.");
        Model = model;
        Tokenizer = tokenizer;
        Adapter = adapter;
        Head = head;
        HeadFile = headFile;
    }

    protected CausalLanguageModel Model { get; }
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

    public abstract Tensor Loss(Tape tape, IReadOnlyList<TExample> batch);
    public abstract double Score(IReadOnlyList<TExample> examples);
    public abstract string ScoreName { get; }

    /// <summary>
    /// Head scores (N, C) of the final hidden states at <paramref name="positions"/>[r] of each row r. Rows are
    /// right-padded, so each starts at position 0 and causal attention keeps the padding out of every real position.
    /// </summary>
    protected Tensor HeadLogits(Tape tape, IReadOnlyList<int[]> rows, IReadOnlyList<int[]> positions)
    {
        int b = rows.Count, t = rows.Max(r => r.Length), d = Model.Config.HiddenSize;
        var ids = new int[b * t];
        Array.Fill(ids, Tokenizer.EosId ?? 0);
        var gather = new List<int>();
        for (int r = 0; r < b; r++)
        {
            rows[r].CopyTo(ids, r * t);
            foreach (int p in positions[r]) gather.Add(r * t + p);
        }
        var hidden = Model.Hidden(tape, new ForwardInput { Batch = b, Length = t, TokenIds = ids, Hooks = Adapter?.Hooks(new int[b]) });
        // Gathering rows is an embedding lookup with the hidden states as the table (backward scatters the gradient back).
        return Head.Logits(tape, Fn.Embedding(tape, hidden.Reshape(b * t, d), gather.ToArray()));
    }

    /// <summary>Runs <paramref name="score"/> over chunks of <paramref name="examples"/> on a tape that records nothing.</summary>
    protected static TOut[] InBatches<TOut>(IReadOnlyList<TExample> examples, int batchSize, Func<Tape, IReadOnlyList<TExample>, TOut[]> score)
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
