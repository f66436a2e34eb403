namespace SoftPrompt.Tuning.Baselines;

/// <summary>Prompt design: the task's template on the frozen model, nothing trained (Brown et al.'s
/// zero-shot).</summary>
public sealed class ZeroShotMethod : TuningMethod
{
    public override string Name => "zero-shot";
    public override string Summary => "the task's template on the frozen model, nothing trained";
    public override ModelFamilies Families => ModelFamilies.Both;
    protected override PreparedMethod<T> PrepareFor<T>(MethodContext<T> context) =>
        new(context.Objective(null, null, ""), Array.Empty<Engine.Tensor>(), 0, null, "template only");
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
    public override ModelFamilies Families => ModelFamilies.Both;

    protected override PreparedMethod<T> PrepareFor<T>(MethodContext<T> context)
    {
        // A head reads the final hidden states, so an encoder's MLM head then takes no part and is not trained.
        var chosen = WeightSubset.Select(context.Model, subset, topLayers ?? context.Settings.TopLayers,
            readsLanguageModelHead: !context.RequiresHead);
        var training = context.Settings.Training with { Optimizer = "adamw", LearningRate = learningRate,
            WeightDecay = 0f };
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
    public override ModelFamilies Families => ModelFamilies.Both;

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
