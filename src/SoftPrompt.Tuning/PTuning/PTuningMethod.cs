using SoftPrompt.Data.Tasks;
using SoftPrompt.Tuning.PromptTuning;

namespace SoftPrompt.Tuning.PTuning;

/// <summary>P-tuning v1 as the comparison runs it: half the pseudo tokens before the task's template, half after it
/// (the template's words stay as anchors), vectors from a bidirectional-LSTM + MLP encoder, AdamW. On a decoder the
/// verbalizer scores the answer after the template; on an encoder (the paper's masked-LM setting) the MLM head scores
/// it at the cloze template's [MASK].</summary>
public sealed class PTuningMethod(string name, PromptEncoderKind kind) : TuningMethod
{
    public override string Name => name;
    public override string Summary =>
        $"P-tuning: pseudo tokens around the template from " +
        $"a{(kind == PromptEncoderKind.Lstm ? " BiLSTM+MLP" : "n MLP")} encoder";
    public override bool SupportsGeneration => false;
    public override ModelFamilies Families => ModelFamilies.Both;

    protected override PreparedMethod<T> PrepareFor<T>(MethodContext<T> context)
    {
        if (context.LabeledTask is not { } task || context.PTuning is not { } classify
            || typeof(T) != typeof(LabeledExample))
            throw new ArgumentException($"{name} needs a classification task.");
        var settings = context.Settings;
        var template = PTuningTemplate.Around(task.Template, settings.PromptLength);
        var encoder = new PromptEncoder(settings.PromptLength, context.Model.Config.HiddenSize, kind,
            context.Model.Config.HiddenSize, settings.Seed);
        var classifier = classify(template, encoder);
        const float learningRate = 1e-3f;
        var training = settings.Training with { Optimizer = "adamw", LearningRate = learningRate, WeightDecay = 0f };
        return new((IPromptObjective<T>)(object)classifier, encoder.Tensors, classifier.StoredValueCount, training,
            $"{Summary}, template \"{template.Text.ReplaceLineEndings("\\n")}\"; AdamW lr {learningRate}",
            directory => classifier.Save(directory, context.BaseModel));
    }
}
