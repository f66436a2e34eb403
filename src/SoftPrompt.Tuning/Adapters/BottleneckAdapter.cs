using System.Text.Json;
using SoftPrompt.Engine;
using SoftPrompt.Engine.Autograd;
using SoftPrompt.Engine.IO;
using SoftPrompt.Models;

namespace SoftPrompt.Tuning.Adapters;

/// <summary>
/// Bottleneck adapters (Houlsby et al. 2019): a small residual MLP on a sublayer's output before it joins the residual
/// stream, y = x + up(f(down(x))) with down D→m and up m→D, in every layer. The up-projection starts near zero, so the
/// adapted model starts near the frozen one. PEFT has no such method: the directory is our own format, with PEFT's file
/// names and a peft_type of our own (<see cref="PeftType"/>) that PEFT refuses rather than misreads.
/// </summary>
public sealed class BottleneckAdapter : ITrainableAdapter, ILayerHooks
{
    public const string PeftType = "SOFTPROMPT_BOTTLENECK";

    /// <summary>Down (m, D) and its bias (m), up (D, m) and its bias (D).</summary>
    public sealed record Module(Tensor Down, Tensor DownBias, Tensor Up, Tensor UpBias);

    private readonly Dictionary<(int Layer, Sublayer Sublayer), Module> _modules = new();
    private readonly int _width;

    /// <summary>Freezes the model and adds one adapter per layer after the feed-forward sublayer (and after attention
    /// when the options say).</summary>
    public BottleneckAdapter(TransformerModel model, BottleneckOptions options)
    {
        options.Validate();
        Options = options;
        model.SetTrainable(false);
        _width = model.Config.HiddenSize;
        var rng = new Random(options.Seed);
        var sublayers = options.AfterAttention ? new[] { Sublayer.Attention, Sublayer.FeedForward }
            : new[] { Sublayer.FeedForward };
        for (int layer = 0; layer < model.Config.NumLayers; layer++)
            foreach (var sublayer in sublayers)
            {
                string prefix = $"layers.{layer}.{SublayerName(sublayer)}_adapter.";
                var module = new Module(
                    Tensor.Parameter([options.Size, _width], trainable: true, prefix + "down.weight"),
                    Tensor.Parameter([options.Size], trainable: true, prefix + "down.bias"),
                    Tensor.Parameter([_width, options.Size], trainable: true, prefix + "up.weight"),
                    Tensor.Parameter([_width], trainable: true, prefix + "up.bias"));
                RandomInit.Uniform(module.Down, rng, 1f / MathF.Sqrt(_width));
                RandomInit.Normal(module.Up, rng, options.UpInitStd, truncateAt: 2);
                _modules.Add((layer, sublayer), module);
            }
        Trainable = _modules.Values.SelectMany(m => new[] { m.Down, m.DownBias, m.Up, m.UpBias }).ToList();
    }

    public BottleneckOptions Options { get; }
    public string Method => "adapter";
    public IReadOnlyList<Tensor> Trainable { get; }
    public long StoredValueCount => Trainable.Sum(t => (long)t.Length);

    public ILayerHooks Hooks(int[] rowStarts) => this;

    Tensor ILayerHooks.SublayerOutput(Tape tape, int layer, Sublayer sublayer, Tensor output)
    {
        if (!_modules.TryGetValue((layer, sublayer), out var m)) return output;
        var down = Fn.Linear(tape, output, m.Down, m.DownBias);
        var activated = Options.Activation switch
        {
            "gelu" => Fn.Gelu(tape, down),
            "silu" => Fn.Silu(tape, down),
            _ => Fn.Relu(tape, down),
        };
        return Fn.Add(tape, output, Fn.Linear(tape, activated, m.Up, m.UpBias));
    }

    public void Save(string directory, string baseModel)
    {
        var config = AdapterFiles.Config(PeftType, baseModel);
        config["format_note"] =
            "softprompt's own format: PEFT has no bottleneck adapters, so peft_type is not one of PEFT's";
        config["bottleneck_size"] = Options.Size;
        config["hidden_size"] = _width;
        config["non_linearity"] = Options.Activation;
        config["after_attention"] = Options.AfterAttention;
        AdapterFiles.Write(directory, config, AdapterFiles.Named(Trainable.Select(t => (t.Name!, t))));
    }

    public static BottleneckAdapter Load(string directory, TransformerModel model)
    {
        var config = AdapterFiles.ReadConfig(directory, PeftType);
        int width = AdapterFiles.RequiredInt(config, directory, "hidden_size");
        if (width != model.Config.HiddenSize)
            throw new ModelFormatException(Path.Combine(directory, AdapterFiles.ConfigFile),
                $"the adapters are for width {width}; the model's is {model.Config.HiddenSize}.");
        var adapter = new BottleneckAdapter(model, new BottleneckOptions
        {
            Size = AdapterFiles.RequiredInt(config, directory, "bottleneck_size"),
            Activation = config.TryGetProperty("non_linearity", out var f) && f.ValueKind == JsonValueKind.String
                ? f.GetString()! : "relu",
            AfterAttention = config.TryGetProperty("after_attention", out var a) && a.ValueKind == JsonValueKind.True,
        });
        var file = AdapterFiles.OpenWeights(directory);
        foreach (var t in adapter.Trainable) file.ReadFloat32(t.Name!, t.Span, t.Shape);
        return adapter;
    }

    private static string SublayerName(Sublayer sublayer) => sublayer == Sublayer.Attention ? "attention"
        : "feed_forward";
}
