using SoftPrompt.Engine;
using SoftPrompt.Engine.Autograd;
using SoftPrompt.Engine.IO;
using SoftPrompt.Models;

namespace SoftPrompt.Tuning.LlamaAdapter;

/// <summary>
/// LLaMA-Adapter (Zhang et al. 2023): each of the top layers holds an adaption prompt P (p, D). Its rows go through the
/// layer's own frozen key and value projections (no positions), every query attends to them with a softmax of their
/// own, and the result, scaled by a zero-initialised gate, joins the layer's attention output before the output
/// projection. At gate 0 the model is exactly the frozen one, so early training cannot disturb it. One gate per layer
/// and the directory layout are PEFT's ADAPTION_PROMPT (base_model.model.&lt;attention&gt;.adaption_prompt [1, p, D]
/// and .adaption_gate [1]). For GPT-2 the prompt attention is added before c_proj as the paper does; PEFT's GPT-2
/// variant adds it after.
/// </summary>
public sealed class LlamaAdapter : ITrainableAdapter, ILayerHooks
{
    public const string PeftType = "ADAPTION_PROMPT";

    /// <summary>Prompt (1, p, D) and gate (1) of one layer.</summary>
    public sealed record AdaptionPrompt(int Layer, Tensor Prompt, Tensor Gate);

    private readonly Dictionary<int, AdaptionPrompt> _byLayer = new();
    // the attention module's own name ("self_attn", GPT-2's "attn"): PEFT's target_modules
    private readonly string _attentionName;
    // The gate's index into itself for every value element: Embedding broadcasts it and sums its gradient back.
    private readonly int[] _gateBroadcast;

    /// <summary>Freezes the model and gives its top layers standard-normal prompts (as the official code's nn.Embedding
    /// does, and PEFT after it) behind gates at 0.</summary>
    public LlamaAdapter(CausalLanguageModel model, LlamaAdapterOptions options)
    {
        int layers = options.Layers ?? model.Config.NumLayers, total = model.Config.NumLayers,
            width = model.Config.HiddenSize;
        if (options.Length < 1)
            throw new ArgumentException($"An adaption prompt needs at least one row (got {options.Length}).");
        if (layers < 1 || layers > total)
            throw new ArgumentException(
                $"LLaMA-Adapter layers must be between 1 and the model's {total} (got {layers}).");
        Options = options with { Layers = layers };
        _attentionName = ModelLayout.AttentionModule(model, 0).Split('.')[^1];
        model.SetTrainable(false);
        var rng = new Random(options.Seed);
        for (int layer = total - layers; layer < total; layer++)
        {
            string module = AdapterFiles.PeftPrefix + ModelLayout.AttentionModule(model, layer);
            var prompt = Tensor.Parameter([1, options.Length, width], trainable: true, module + ".adaption_prompt");
            RandomInit.Normal(prompt, rng, 1f);
            _byLayer.Add(layer, new AdaptionPrompt(layer, prompt, Tensor.Parameter([1], trainable: true,
                module + ".adaption_gate")));
        }
        _gateBroadcast = new int[options.Length * model.Config.KvWidth];
        Prompts = _byLayer.Values.ToList();
        Trainable = Prompts.SelectMany(p => new[] { p.Prompt, p.Gate }).ToList();
    }

    public LlamaAdapterOptions Options { get; }
    public IReadOnlyList<AdaptionPrompt> Prompts { get; }
    public string Method => "llama-adapter";
    public IReadOnlyList<Tensor> Trainable { get; }
    public long StoredValueCount => Trainable.Sum(t => (long)t.Length);

    public ILayerHooks Hooks(int[] rowStarts) => this;

    Tensor? ILayerHooks.ExtraAttention(Tape tape, int layer, LayerAttention attention)
    {
        if (!_byLayer.TryGetValue(layer, out var adaption)) return null;
        var (keys, values) = attention.KeyValues(adaption.Prompt); // (1, p, kvWidth) each
        // g·softmax(q·Kᵀ)·V = softmax(q·Kᵀ)·(g·V): gating the p value rows is cheaper than gating B·T outputs.
        var gate = Fn.Embedding(tape, adaption.Gate.Reshape(1, 1), _gateBroadcast, values.Shape).Reshape(values.Shape);
        values = Fn.Mul(tape, values, gate);
        int batch = attention.Queries.Dim(0);
        return Fn.Attention(tape, attention.Queries, EveryRow(tape, keys, batch), EveryRow(tape, values, batch),
            attention.NumHeads, attention.KvHeads, causal: false);
    }

    private static Tensor EveryRow(Tape tape, Tensor one, int batch)
    {
        if (batch == 1) return one;
        var rows = new Tensor[batch];
        Array.Fill(rows, one);
        return Fn.Concat(tape, 0, rows);
    }

    public void Save(string directory, string baseModel)
    {
        var config = AdapterFiles.Config(PeftType, baseModel);
        config["adapter_len"] = Options.Length;
        config["adapter_layers"] = Options.Layers;
        config["target_modules"] = _attentionName;
        AdapterFiles.Write(directory, config, AdapterFiles.Named(Trainable.Select(t => (t.Name!, t))));
    }

    /// <summary>Loads an ADAPTION_PROMPT directory, ours or PEFT's.</summary>
    public static LlamaAdapter Load(string directory, CausalLanguageModel model)
    {
        var config = AdapterFiles.ReadConfig(directory, PeftType);
        int length = AdapterFiles.RequiredInt(config, directory, "adapter_len"),
            layers = AdapterFiles.RequiredInt(config, directory, "adapter_layers");
        if (length < 1 || layers < 1 || layers > model.Config.NumLayers)
            throw new ModelFormatException(Path.Combine(directory, AdapterFiles.ConfigFile),
                $"adapter_len {length} and adapter_layers {layers} do not fit a model of {model.Config.NumLayers} " +
                    $"layers.");
        var adapter = new LlamaAdapter(model, new LlamaAdapterOptions { Length = length, Layers = layers });
        var file = AdapterFiles.OpenWeights(directory);
        foreach (var t in adapter.Trainable) file.ReadFloat32(t.Name!, t.Span, t.Shape);
        return adapter;
    }
}
