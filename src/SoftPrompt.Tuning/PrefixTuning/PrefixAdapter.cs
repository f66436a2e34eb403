using SoftPrompt.Engine;
using SoftPrompt.Engine.Autograd;
using SoftPrompt.Models;

namespace SoftPrompt.Tuning.PrefixTuning;

/// <summary>
/// Prefix tuning (Li &amp; Liang 2021) and P-tuning v2 (Liu et al. 2022): p trainable key and value rows at each chosen
/// layer, which every query of that layer attends to as if they were p earlier tokens. They are not positions (no
/// rotary angle, no slot in the KV cache), so left padding shifts nothing: padded positions stay masked as keys and the
/// prefix is never masked. The rows are kept as PEFT keeps them, one (p, k·2·kvWidth) matrix whose row t holds, for
/// each chosen layer in ascending order, that layer's key then its value for virtual token t, heads side by side.
/// </summary>
public sealed class PrefixAdapter : ITrainableAdapter
{
    public const string MethodName = "prefix";

    private readonly int[] _slotOfLayer; // model layer → its index among Layers, or −1
    private readonly Tensor? _rows;      // direct form: the (p, k·2·kvWidth) rows themselves
    private readonly PrefixMlp? _mlp;    // reparameterised form

    public PrefixAdapter(ModelConfig model, PrefixTuningOptions options)
        : this(model, options.Validated().VirtualTokens, options.LayerSelection.Resolve(model.NumLayers),
            options.Reparameterize ? options.MlpHiddenSize ?? model.HiddenSize : null)
    {
        var rng = new Random(options.Seed);
        if (_mlp is not null) _mlp.Initialize(rng);
        else DefaultInit.Embedding(_rows!, rng);
    }

    private PrefixAdapter(ModelConfig model, int virtualTokens, int[] layers, int? mlpHiddenSize)
    {
        if (virtualTokens < 1)
            throw new ArgumentException($"Prefix tuning needs at least one virtual token (got {virtualTokens}).");
        VirtualTokens = virtualTokens;
        KvWidth = model.KvWidth;
        KvHeads = model.KvHeads;
        Layers = layers;
        _slotOfLayer = Enumerable.Repeat(-1, model.NumLayers).ToArray();
        for (int i = 0; i < layers.Length; i++)
        {
            if (layers[i] < 0 || layers[i] >= model.NumLayers || (i > 0 && layers[i] <= layers[i - 1]))
                throw new ArgumentException(
                    $"Prefix layers [{string.Join(", ", layers)}] must be ascending indices below {model.NumLayers}.");
            _slotOfLayer[layers[i]] = i;
        }
        if (mlpHiddenSize is int hidden) _mlp = PrefixMlp.Create(virtualTokens, model.HiddenSize, hidden, Width);
        else _rows = Tensor.Parameter(new[] { virtualTokens, Width }, trainable: true, "prefix.key_values");
    }

    /// <summary>The direct form, holding <paramref name="rows"/> (p, k·2·kvWidth) as they are.</summary>
    internal static PrefixAdapter Direct(ModelConfig model, int[] layers, float[] rows, int virtualTokens)
    {
        var adapter = new PrefixAdapter(model, virtualTokens, layers, mlpHiddenSize: null);
        rows.CopyTo(adapter._rows!.Span);
        return adapter;
    }

    /// <summary>The reparameterised form, with uninitialised MLP weights for the caller to fill.</summary>
    internal static PrefixAdapter Reparameterized(ModelConfig model, int[] layers, int virtualTokens,
        int mlpHiddenSize) =>
        new(model, virtualTokens, layers, mlpHiddenSize);

    public string Method => MethodName;
    /// <summary>PEFT's task_type in the saved config: CAUSAL_LM, or SEQ_2_SEQ_LM for a T5's prefix (its layers the
    /// encoder's blocks, then the decoder's: <see cref="Models.T5.AdapterConfig"/>).</summary>
    public string TaskType { get; init; } = AdapterFiles.CausalLanguageModel;
    public int VirtualTokens { get; }
    public int KvWidth { get; }
    public int KvHeads { get; }
    /// <summary>Layers of the model the prefix was made for.</summary>
    public int ModelLayers => _slotOfLayer.Length;
    /// <summary>The model layers that get prefix rows, ascending.</summary>
    public IReadOnlyList<int> Layers { get; }
    /// <summary>Width of one prefix row: a key and a value per chosen layer.</summary>
    public int Width => Layers.Count * 2 * KvWidth;
    /// <summary>Null in the direct form.</summary>
    public PrefixMlp? Mlp => _mlp;

    public IReadOnlyList<Tensor> Trainable => _mlp?.Tensors ?? new[] { _rows! };

    /// <summary>Only the final rows are stored for inference; the MLP is a training device (Li &amp; Liang).</summary>
    public long StoredValueCount => (long)VirtualTokens * Width;

    /// <summary>The prefix rows (p, k·2·kvWidth) in PEFT's order: the parameter itself, or the MLP's output.</summary>
    public Tensor Rows(Tape tape) => _mlp?.Forward(tape) ?? _rows!;

    /// <summary>A copy of the final rows, MLP applied.</summary>
    public float[] FinalRows()
    {
        var tape = new Tape(recording: false);
        var rows = Rows(tape).ToArray();
        tape.Reset();
        return rows;
    }

    public ILayerHooks Hooks(int[] rowStarts) => new PassHooks(this);

    /// <summary>The direct form holding this adapter's final rows: the MLP runs once, here, instead of every
    /// pass.</summary>
    public PrefixAdapter ForInference(ModelConfig model) => _mlp is null ? this : Direct(model, Layers.ToArray(),
        FinalRows(), VirtualTokens);

    /// <summary>This prefix's index among its layers for model layer <paramref name="layer"/>, or −1 where it has
    /// none.</summary>
    public int SlotOf(int layer)
    {
        if (layer >= ModelLayers)
            throw new ArgumentException(
                $"The prefix was made for a model of {ModelLayers} layers; asked for layer {layer}.");
        return _slotOfLayer[layer];
    }

    public void Save(string directory, string baseModel) => PrefixAdapterFiles.Save(directory, this, baseModel);

    private sealed class PassHooks(PrefixAdapter adapter) : ILayerHooks
    {
        private Tensor? _rows;

        public ExtraKeyValues? ExtraKeyValues(Tape tape, int layer, int batch)
        {
            int slot = adapter.SlotOf(layer);
            if (slot < 0) return null;
            // A pass visits layers in order, so its lowest chosen layer starts it: computing the rows there runs the
            // MLP once per pass, and hooks kept across passes never read the memory of a tape reset in between.
            if (slot == 0 || _rows is null) _rows = adapter.Rows(tape);
            int w = adapter.KvWidth;
            return new ExtraKeyValues(
                ForEveryRow(tape, Fn.Slice(tape, _rows, 1, 2 * slot * w, w), batch),
                ForEveryRow(tape, Fn.Slice(tape, _rows, 1, (2 * slot + 1) * w, w), batch));
        }

        public Tensor LayerInput(Tape tape, int layer, Tensor hidden) => hidden;

        // (p, W) → (B, p, W): every row of the batch sees the same prefix.
        private static Tensor ForEveryRow(Tape tape, Tensor rows, int batch)
        {
            var one = rows.Reshape(1, rows.Dim(0), rows.Dim(1));
            if (batch == 1) return one;
            var copies = new Tensor[batch];
            Array.Fill(copies, one);
            return Fn.Concat(tape, 0, copies);
        }
    }
}
