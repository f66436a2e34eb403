using SoftPrompt.Engine;
using SoftPrompt.Engine.Autograd;

namespace SoftPrompt.Tuning.PTuning;

public enum PromptEncoderKind { Lstm, Mlp }

/// <summary>
/// P-tuning's prompt encoder (Liu et al. 2021): the p pseudo-token vectors are not trained directly but produced from
/// trainable inputs E (p, D) — by a two-layer bidirectional LSTM and a ReLU MLP, so neighbouring pseudo tokens are
/// related, or by an MLP alone. Tensor names follow PEFT's PromptEncoder (embedding, lstm_head, mlp_head).
/// </summary>
public sealed class PromptEncoder
{
    private const string NamePrefix = "prompt_encoder.";
    private readonly List<Tensor> _tensors = new();
    private readonly Tensor[][] _lstm; // [layer·2 + direction] = (wIh (4H, In), wHh (4H, H), bIh (4H), bHh (4H))
    private readonly Tensor[] _mlp;    // weight, bias pairs

    /// <summary>Refuses a template whose pseudo tokens this encoder does not make, or a model of another
    /// width.</summary>
    public void CheckFits(PTuningTemplate template, int modelWidth)
    {
        if (template.PseudoTokens != Length)
            throw new ArgumentException(
                $"The template has {template.PseudoTokens} pseudo tokens, the encoder makes {Length}.");
        if (Inputs.Dim(1) != modelWidth)
            throw new ArgumentException($"The prompt encoder is {Inputs.Dim(1)} wide, the model {modelWidth}.");
    }

    public PromptEncoder(int virtualTokens, int width, PromptEncoderKind kind, int hiddenSize, int seed)
    {
        if (virtualTokens < 1)
            throw new ArgumentException($"P-tuning needs at least one pseudo token (got {virtualTokens}).");
        if (hiddenSize < 1)
            throw new ArgumentException($"The prompt encoder's hidden size must be positive (got {hiddenSize}).");
        Kind = kind;
        HiddenSize = hiddenSize;
        var rng = new Random(seed);
        Inputs = Add("embedding.weight", virtualTokens, width);
        RandomInit.Normal(Inputs, rng, 1f); // nn.Embedding's N(0, 1)
        if (kind == PromptEncoderKind.Lstm)
        {
            _lstm = new Tensor[4][];
            for (int layer = 0; layer < 2; layer++)
                for (int direction = 0; direction < 2; direction++)
                {
                    string suffix = $"_l{layer}{(direction == 1 ? "_reverse" : "")}";
                    int inputs = layer == 0 ? width : 2 * hiddenSize;
                    var cell = new[]
                    {
                        Add("lstm_head.weight_ih" + suffix, 4 * hiddenSize, inputs), Add("lstm_head.weight_hh" + suffix,
                            4 * hiddenSize, hiddenSize),
                        Add("lstm_head.bias_ih" + suffix, 4 * hiddenSize), Add("lstm_head.bias_hh" + suffix,
                            4 * hiddenSize),
                    };
                    float bound = 1f / MathF.Sqrt(hiddenSize); // PyTorch's LSTM init
                    foreach (var t in cell) RandomInit.Uniform(t, rng, bound);
                    _lstm[layer * 2 + direction] = cell;
                }
            _mlp = Linears(rng, ("mlp_head.0", 2 * hiddenSize, hiddenSize), ("mlp_head.2", hiddenSize, width));
        }
        else
        {
            _lstm = Array.Empty<Tensor[]>();
            _mlp = Linears(rng, ("mlp_head.0", width, hiddenSize), ("mlp_head.2", hiddenSize, hiddenSize),
                ("mlp_head.4", hiddenSize, width));
        }
    }

    public PromptEncoderKind Kind { get; }
    public int HiddenSize { get; }
    /// <summary>E (p, D): what the encoder reads.</summary>
    public Tensor Inputs { get; }
    public int Length => Inputs.Dim(0);
    public IReadOnlyList<Tensor> Tensors => _tensors;

    /// <summary>The pseudo-token vectors (p, D).</summary>
    public Tensor Forward(Tape tape)
    {
        var x = Inputs;
        if (Kind == PromptEncoderKind.Lstm)
            for (int layer = 0; layer < 2; layer++)
                x = Fn.Concat(tape, 1, Run(tape, x, _lstm[layer * 2], reverse: false),
                    Run(tape, x, _lstm[layer * 2 + 1], reverse: true));
        for (int i = 0; i < _mlp.Length; i += 2)
        {
            x = Fn.Linear(tape, x, _mlp[i], _mlp[i + 1]);
            if (i + 2 < _mlp.Length) x = Fn.Relu(tape, x);
        }
        return x;
    }

    // One LSTM direction over the p rows of x (p, In) as a sequence of batch 1: (p, H).
    private Tensor Run(Tape tape, Tensor x, Tensor[] cell, bool reverse)
    {
        int p = x.Dim(0);
        var h = tape.NewTensor(new[] { 1, HiddenSize }, zero: true);
        var c = tape.NewTensor(new[] { 1, HiddenSize }, zero: true);
        var outputs = new Tensor[p];
        for (int step = 0; step < p; step++)
        {
            int t = reverse ? p - 1 - step : step;
            (h, c) = Fn.LstmCell(tape, Fn.Slice(tape, x, 0, t, 1), h, c, cell[0], cell[1], cell[2], cell[3]);
            outputs[t] = h;
        }
        return p == 1 ? outputs[0] : Fn.Concat(tape, 0, outputs);
    }

    private Tensor Add(string name, params int[] shape)
    {
        var t = Tensor.Parameter(shape, trainable: true, NamePrefix + name);
        _tensors.Add(t);
        return t;
    }

    private Tensor[] Linears(Random rng, params (string Name, int In, int Out)[] layers)
    {
        var result = new List<Tensor>();
        foreach (var (name, inputs, outputs) in layers)
        {
            var w = Add(name + ".weight", outputs, inputs);
            var b = Add(name + ".bias", outputs);
            float bound = 1f / MathF.Sqrt(inputs); // nn.Linear's init bound
            RandomInit.Uniform(w, rng, bound);
            RandomInit.Uniform(b, rng, bound);
            result.Add(w);
            result.Add(b);
        }
        return result.ToArray();
    }
}
