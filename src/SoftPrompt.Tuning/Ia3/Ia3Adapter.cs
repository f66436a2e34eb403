using System.Text.Json;
using System.Text.Json.Nodes;
using SoftPrompt.Engine;
using SoftPrompt.Engine.Autograd;
using SoftPrompt.Engine.IO;
using SoftPrompt.Models;

namespace SoftPrompt.Tuning.Ia3;

/// <summary>
/// (IA)³ (Liu et al. 2022): learned vectors that rescale the keys and values (each targeted projection's output,
/// y·l) and the feed-forward activation (the input of the MLP's output projection, (x·l)·Wᵀ), all starting at 1 so
/// training starts from the frozen model exactly. The directory is PEFT's (peft_type IA3, tensors
/// base_model.model.&lt;module&gt;.ia3_l: [Out, 1] for a rescaled output, [1, In] for a rescaled feed-forward input).
/// </summary>
public sealed class Ia3Adapter : ITrainableAdapter, ILayerHooks
{
    public const string PeftType = "IA3";

    /// <summary>One rescaled projection; Module is its Hugging Face name without ".weight".</summary>
    public sealed record Scale(string Module, Tensor Weight, Tensor Vector, bool FeedForward);

    private readonly Dictionary<Tensor, Scale> _byWeight = new(ReferenceEqualityComparer.Instance);
    private readonly IReadOnlyList<string> _targets, _feedForward;
    private readonly bool _gpt2;
    private readonly TransformerModel _model;

    /// <param name="targets">Module names or their last dotted parts, as PEFT's target_modules; null means the paper's
    /// choice (Liu et al. 2022): the projections the model declares as keys and values (a fused q/k/v matrix included)
    /// and its MLP's output projection, rescaled on its input.</param>
    /// <param name="feedForward">Which of them rescale their input instead of their output
    /// (feedforward_modules).</param>
    public Ia3Adapter(TransformerModel model, IReadOnlyList<string>? targets = null,
        IReadOnlyList<string>? feedForward = null)
    {
        model.SetTrainable(false);
        _gpt2 = model.Config.Architecture == Architecture.Gpt2;
        _model = model;
        if (targets is null)
        {
            var feedForwardModules = ModelLayout.Modules(model, ParameterRole.MlpDown);
            targets = ModelLayout.Modules(model, ParameterRole.Key | ParameterRole.Value).Concat(feedForwardModules)
                .ToList();
            feedForward = feedForwardModules;
        }
        (_targets, _feedForward) = (targets, feedForward ?? Array.Empty<string>());
        var scales = new List<Scale>();
        foreach (var p in ModelLayout.BlockMatrices(model))
        {
            string module = p.Name[..^".weight".Length];
            if (!Matches(module, _targets)) continue;
            bool ff = Matches(module, _feedForward);
            var vector = Tensor.Parameter(ff ? [1, p.Tensor.Dim(1)] : [p.Tensor.Dim(0), 1], trainable: true,
                $"{AdapterFiles.PeftPrefix}{module}.ia3_l");
            vector.Span.Fill(1f);
            var scale = new Scale(module, p.Tensor, vector, ff);
            scales.Add(scale);
            _byWeight.Add(p.Tensor, scale);
        }
        if (scales.Count == 0)
            throw new ArgumentException(
                $"(IA)³ target modules [{string.Join(", ", _targets)}] match no projection of the model's layers.");
        Scales = scales;
        Trainable = scales.Select(s => s.Vector).ToList();
    }

    private static bool Matches(string module, IEnumerable<string> names) => names.Any(t => module == t
        || module.EndsWith("." + t));

    public IReadOnlyList<Scale> Scales { get; }
    public string Method => "ia3";
    public IReadOnlyList<Tensor> Trainable { get; }
    public long StoredValueCount => Trainable.Sum(t => (long)t.Length);

    public ILayerHooks Hooks(int[] rowStarts) => this;

    Tensor ILayerHooks.Projection(Tape tape, int layer, Tensor weight, Tensor input, Tensor output)
    {
        if (!_byWeight.TryGetValue(weight, out var s)) return output;
        if (!s.FeedForward) return Fn.ScaleColumns(tape, output, s.Vector);
        // (x·l)·Wᵀ + b = output + (x·(l − 1))·Wᵀ: the bias, which the hook does not see, stays as it was.
        var change = Fn.Add(tape, s.Vector, ConstantTensors.Filled(-1f, s.Vector.Shape));
        return Fn.Add(tape, output, Fn.Linear(tape, Fn.ScaleColumns(tape, input, change), weight));
    }

    public void Save(string directory, string baseModel)
    {
        var config = AdapterFiles.Config(PeftType, baseModel);
        config["target_modules"] = new JsonArray(ModelLayout.TargetNames(_model, Scales.Select(s => s.Module).ToList())
            .Select(t => (JsonNode)t).ToArray());
        config["feedforward_modules"] = new JsonArray(ModelLayout.TargetNames(_model, Scales.Where(s => s.FeedForward)
            .Select(s => s.Module).ToList())
            .Select(t => (JsonNode)t).ToArray());
        // Hugging Face's GPT-2 keeps Conv1D weights [in, out]; the vectors' shapes do not change
        config["fan_in_fan_out"] = _gpt2;
        config["init_ia3_weights"] = true;
        config["modules_to_save"] = null;
        AdapterFiles.Write(directory, config, AdapterFiles.Named(Trainable.Select(t => (t.Name!, t))));
    }

    /// <summary>Loads an IA3 directory, ours or PEFT's: the modules are those the weights file holds vectors for, each
    /// rescaling its input when feedforward_modules names it.</summary>
    public static Ia3Adapter Load(string directory, TransformerModel model)
    {
        var config = AdapterFiles.ReadConfig(directory, PeftType);
        var feedForward = config.TryGetProperty("feedforward_modules", out var ff)
            && ff.ValueKind == JsonValueKind.Array
            ? ff.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.String).Select(e => e.GetString()!).ToList()
            : new List<string>();
        var file = AdapterFiles.OpenWeights(directory);
        var modules = AdapterFiles.Modules(file, ".ia3_l", model, "(IA)³");
        var adapter = new Ia3Adapter(model, modules, feedForward);
        foreach (var s in adapter.Scales) file.ReadFloat32(s.Vector.Name!, s.Vector.Span, s.Vector.Shape);
        return adapter;
    }
}
