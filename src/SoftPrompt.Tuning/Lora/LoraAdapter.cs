using System.Text.Json;
using System.Text.Json.Nodes;
using SoftPrompt.Engine;
using SoftPrompt.Engine.Autograd;
using SoftPrompt.Engine.IO;
using SoftPrompt.Models;

namespace SoftPrompt.Tuning.Lora;

/// <summary>
/// LoRA (Hu et al. 2021): each targeted frozen linear map gains a trainable low-rank update,
/// y = x·Wᵀ + s·(x·Aᵀ)·Bᵀ with A (r, In) small random, B (Out, r) zero and s = α/r, so training starts from the frozen
/// model exactly. The directory is PEFT's (peft_type LORA, tensors base_model.model.&lt;module&gt;.lora_A.weight [r,
/// In] and lora_B.weight [Out, r]); <see cref="Merge"/> folds the updates into the weights for serving at no extra
/// cost.
/// </summary>
public sealed class LoraAdapter : ITrainableAdapter, ILayerHooks
{
    public const string PeftType = "LORA";

    /// <summary>One adapted linear map; Module is its Hugging Face name without ".weight".</summary>
    public sealed record Update(string Module, Tensor Weight, Tensor A, Tensor B);

    private readonly Dictionary<Tensor, Update> _byWeight = new(ReferenceEqualityComparer.Instance);
    private readonly TransformerModel _model;

    /// <summary>Freezes the model and adds a zero update to every layer projection the options target.</summary>
    public LoraAdapter(TransformerModel model, LoraOptions options)
    {
        if (options.Rank < 1) throw new ArgumentException($"LoRA rank must be at least 1 (got {options.Rank}).");
        _model = model;
        Options = options;
        model.SetTrainable(false);
        var targets = options.TargetModules;
        var chosen = targets is null ? ModelLayout.Modules(model, ParameterRole.Query | ParameterRole.Value).ToHashSet()
            : null;
        var rng = new Random(options.Seed);
        var updates = new List<Update>();
        foreach (var p in ModelLayout.BlockMatrices(model))
        {
            string module = p.Name[..^".weight".Length];
            if (chosen is not null ? !chosen.Contains(module) : !targets!.Any(t => module == t
                || module.EndsWith("." + t))) continue;
            int outputs = p.Tensor.Dim(0), inputs = p.Tensor.Dim(1);
            var a = Tensor.Parameter([options.Rank, inputs], trainable: true, TensorName(module, "lora_A"));
            var b = Tensor.Parameter([outputs, options.Rank], trainable: true, TensorName(module, "lora_B"));
            RandomInit.Uniform(a, rng, 1f / MathF.Sqrt(inputs)); // PEFT's kaiming_uniform(a=√5) bound
            var update = new Update(module, p.Tensor, a, b);
            updates.Add(update);
            _byWeight.Add(p.Tensor, update);
        }
        if (updates.Count == 0)
        {
            var firstLayer = ModelLayout.BlockMatrices(model).Where(p => p.Layer == 0).Select(p =>
                p.Name[..^".weight".Length]);
            throw new ArgumentException(
                $"LoRA target modules [{string.Join(", ", targets ?? ["queries and values"])}] match no projection " +
                $"of the model's layers (e.g. {string.Join(", ", firstLayer)}).");
        }
        Updates = updates;
        Trainable = updates.SelectMany(u => new[] { u.A, u.B }).ToList();
    }

    public LoraOptions Options { get; }
    public IReadOnlyList<Update> Updates { get; }
    /// <summary>True once the updates live in the model's weights; the hooks then add nothing.</summary>
    public bool Merged { get; private set; }

    public string Method => "lora";
    public IReadOnlyList<Tensor> Trainable { get; }
    public long StoredValueCount => Trainable.Sum(t => (long)t.Length);

    public ILayerHooks Hooks(int[] rowStarts) => this;

    Tensor ILayerHooks.Projection(Tape tape, int layer, Tensor weight, Tensor input, Tensor output)
    {
        if (Merged || !_byWeight.TryGetValue(weight, out var u)) return output;
        var update = Fn.Linear(tape, Fn.Linear(tape, input, u.A), u.B);
        return Fn.Add(tape, output, Fn.Scale(tape, update, Options.Scaling));
    }

    /// <summary>W += s·B·A for every update, so serving runs the plain model. One-way: to train on or to drop the
    /// adapter, load the model again.</summary>
    public void Merge()
    {
        if (Merged) return;
        float scaling = Options.Scaling;
        int rank = Options.Rank;
        foreach (var u in Updates)
        {
            int outputs = u.Weight.Dim(0), inputs = u.Weight.Dim(1);
            var w = u.Weight.Span;
            var a = u.A.ReadOnlySpan;
            var b = u.B.ReadOnlySpan;
            for (int o = 0; o < outputs; o++)
                for (int i = 0; i < inputs; i++)
                {
                    double delta = 0;
                    for (int k = 0; k < rank; k++) delta += (double)b[o * rank + k] * a[k * inputs + i];
                    w[o * inputs + i] += (float)(scaling * delta);
                }
        }
        Merged = true;
    }

    public void Save(string directory, string baseModel)
    {
        var config = AdapterFiles.Config(PeftType, baseModel);
        config["r"] = Options.Rank;
        config["lora_alpha"] = Options.Alpha;
        config["use_rslora"] = Options.RankStabilized;
        config["target_modules"] = new JsonArray(ModelLayout.TargetNames(_model, Updates.Select(u => u.Module).ToList())
            .Select(t => (JsonNode)t).ToArray());
        config["lora_dropout"] = 0.0;
        config["bias"] = "none";
        // Hugging Face's GPT-2 stores its projections as Conv1D [in, out]; PEFT records that, though A and B keep their
        // shapes.
        config["fan_in_fan_out"] = _model.Config.Architecture == Architecture.Gpt2;
        config["init_lora_weights"] = true;
        config["modules_to_save"] = null;
        AdapterFiles.Write(directory, config, AdapterFiles.Named(Trainable.Select(t => (t.Name!, t))));
    }

    /// <summary>Loads a LoRA directory, ours or PEFT's, onto <paramref name="model"/>: the modules are those the
    /// weights file holds updates for, whatever pattern target_modules used to pick them.</summary>
    public static LoraAdapter Load(string directory, TransformerModel model)
    {
        var config = AdapterFiles.ReadConfig(directory, PeftType);
        string configPath = Path.Combine(directory, AdapterFiles.ConfigFile);
        foreach (var unsupported in new[] { "rank_pattern", "alpha_pattern" })
            if (config.TryGetProperty(unsupported, out var pattern) && pattern.ValueKind == JsonValueKind.Object
                && pattern.EnumerateObject().Any())
                throw new ModelFormatException(configPath, $"per-module \"{unsupported}\" is not supported.");
        if (config.TryGetProperty("use_dora", out var dora) && dora.ValueKind == JsonValueKind.True)
            throw new ModelFormatException(configPath, "DoRA (use_dora) is not supported.");
        if (config.TryGetProperty("bias", out var bias) && bias.ValueKind == JsonValueKind.String
            && bias.GetString() != "none")
            throw new ModelFormatException(configPath, $"bias \"{bias.GetString()}\" is not supported: only \"none\".");
        int rank = AdapterFiles.RequiredInt(config, directory, "r");
        float alpha = !config.TryGetProperty("lora_alpha", out var a) || a.ValueKind == JsonValueKind.Null
            ? 8f // PEFT's default
            : a.ValueKind == JsonValueKind.Number && a.TryGetSingle(out float given) && float.IsFinite(given) ? given
            : throw new ModelFormatException(configPath, $"\"lora_alpha\" must be a number (got {a.GetRawText()}).");

        var file = AdapterFiles.OpenWeights(directory);
        var modules = AdapterFiles.Modules(file, ".lora_A.weight", model, "LoRA");
        // every update needs both halves: a module with only one of them would be skipped or half-read silently
        var withB = AdapterFiles.Modules(file, ".lora_B.weight", model, "LoRA");
        if (modules.Except(withB).Concat(withB.Except(modules)).FirstOrDefault() is string unpaired)
            throw new ModelFormatException(file.SourcePath,
                $"{unpaired} has {(modules.Contains(unpaired) ? "lora_A but no lora_B" : "lora_B but no lora_A")}; " +
                "a LoRA update needs both.");
        var adapter = new LoraAdapter(model, new LoraOptions
        {
            Rank = rank,
            Alpha = alpha,
            RankStabilized = config.TryGetProperty("use_rslora", out var rs) && rs.ValueKind == JsonValueKind.True,
            TargetModules = modules,
        });
        foreach (var u in adapter.Updates)
        {
            file.ReadFloat32(u.A.Name!, u.A.Span, u.A.Shape);
            file.ReadFloat32(u.B.Name!, u.B.Span, u.B.Shape);
        }
        return adapter;
    }

    private static string TensorName(string module, string part) => $"{AdapterFiles.PeftPrefix}{module}.{part}.weight";
}
