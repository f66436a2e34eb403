using SoftPrompt.Tuning.EncoderDecoder;
using SoftPrompt.Tuning.PromptTuning;
using SoftPrompt.Tuning.VisualPrompts;

namespace SoftPrompt.Tuning.Baselines;

/// <summary>Prompt design: the task's template on the frozen model, nothing trained (Brown et al.'s
/// zero-shot).</summary>
public sealed class ZeroShotMethod : TuningMethod
{
    public override string Name => "zero-shot";
    public override string Summary => "the task's template on the frozen model, nothing trained";
    public override ModelFamilies Families => ModelFamilies.Both | ModelFamilies.EncoderDecoder;
    protected override PreparedMethod<T> PrepareFor<T>(MethodContext<T> context) =>
        new(context.Objective(null, null, ""), Array.Empty<Engine.Tensor>(), 0, null, "template only");

    protected override T5Setup PrepareForEncoderDecoder(EncoderDecoderContext context) =>
        new(context.Classifier(), [], 0, null, "prompt design: the template alone, labels ranked by the decoder");
}

/// <summary>k labelled training examples written before every input (in-context learning), nothing trained.</summary>
public sealed class FewShotMethod : TuningMethod
{
    public override string Name => "few-shot";
    public override string Summary => "k labelled demonstrations before every input, nothing trained";
    public override bool SupportsGeneration => false;
    protected override PreparedMethod<T> PrepareFor<T>(MethodContext<T> context)
    {
        var demonstrations = context.Demonstrations ?? throw new ArgumentException(
            "few-shot needs a task with labelled demonstrations.");
        int shots = context.Settings.Shots;
        return new(context.Objective(null, null, demonstrations(shots, context.Settings.Seed)),
            Array.Empty<Engine.Tensor>(), 0, null,
            $"{shots} in-context examples");
    }
}

/// <summary>Fine-tuning baselines over a subset of the model's own weights: all of them, the top k blocks, or
/// BitFit.</summary>
public sealed class WeightSubsetMethod(string name, string subset, float learningRate, int? topLayers = null)
    : TuningMethod
{
    public override string Name => name;
    public override string Summary => subset switch
    {
        "full" => "full fine-tuning",
        "top-k" => $"fine-tuning of the top {topLayers} layers",
        _ => "BitFit: biases only (norm gains on bias-free models)",
    };

    public override bool SupportsHeads => true;
    /// <summary>Full fine-tuning is also the T5 and ViT baseline; the layer subsets are for single stacks.</summary>
    public override ModelFamilies Families => subset == "full"
        ? ModelFamilies.Both | ModelFamilies.EncoderDecoder | ModelFamilies.Vision : ModelFamilies.Both;

    /// <summary>The ViT of `vit compare` is small and was pretrained on another label set; its backbone moves at a
    /// higher rate than a language model's (measured there: reports/vpt.md).</summary>
    private const float VisionLearningRate = 1e-3f;

    private PromptTuningOptions Training(MethodSettings settings) => settings.Training with
    {
        Optimizer = "adamw", LearningRate = learningRate, WeightDecay = 0f,
    };

    protected override T5Setup PrepareForEncoderDecoder(EncoderDecoderContext context)
    {
        context.Model.SetTrainable(true);
        var weights = context.Model.Parameters.Select(p => p.Tensor).Distinct().ToArray();
        return new T5Setup(context.Classifier(), weights, context.Model.ParameterCount, Training(context.Settings),
            $"full fine-tuning of every weight, AdamW {learningRate}");
    }

    protected override VisualSetup PrepareForVision(VisionContext context) =>
        context.Adapt(promptLayers: 0, trainsBackbone: true, VisionLearningRate,
            "full fine-tuning: every backbone weight + head");

    protected override PreparedMethod<T> PrepareFor<T>(MethodContext<T> context)
    {
        // A head reads the final hidden states, so an encoder's MLM head then takes no part and is not trained.
        var chosen = WeightSubset.Select(context.Model, subset, topLayers ?? context.Settings.TopLayers,
            readsLanguageModelHead: !context.RequiresHead);
        var training = Training(context.Settings);
        string note = string.Join("; ", new[] { chosen.Method, $"AdamW lr {learningRate}", chosen.Note }.Where(s =>
            s is not null));
        if (!context.RequiresHead)
            return new(context.Objective(null, null, ""), chosen.Tensors, chosen.Count, training, note,
                directory => WeightSubsetFiles.Save(directory, chosen, context.BaseModel));
        var headed = context.WithHead!(null);
        return new(headed, [.. chosen.Tensors, .. headed.Head.Tensors], chosen.Count + headed.StoredValueCount,
            training, note + "; linear head");
    }
}

/// <summary>Linear probing: a head on the frozen model's final hidden states, nothing else trained.</summary>
public sealed class LinearProbeMethod : TuningMethod
{
    public override string Name => "probe";
    public override string Summary => "linear probe: a head on the frozen model's final hidden states";
    public override bool SupportsGeneration => false;
    public override bool SupportsHeads => true;
    public override ModelFamilies Families => ModelFamilies.Both | ModelFamilies.Vision;

    protected override VisualSetup PrepareForVision(VisionContext context) =>
        context.Adapt(promptLayers: 0, trainsBackbone: false, 1e-2f,
            "linear probing: a new head on the frozen CLS feature");

    protected override PreparedMethod<T> PrepareFor<T>(MethodContext<T> context)
    {
        var headed = (context.WithHead ?? throw new ArgumentException("probe needs a task with labels or tags."))(null);
        const float learningRate = 1e-2f;
        var training = context.Settings.Training with { Optimizer = "adamw", LearningRate = learningRate,
            WeightDecay = 0f };
        return new(headed, headed.Trainable, headed.StoredValueCount, training, $"{Summary}; AdamW lr {learningRate}",
            directory => headed.Save(directory, context.BaseModel));
    }
}
