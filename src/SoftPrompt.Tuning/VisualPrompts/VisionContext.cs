using SoftPrompt.Engine;
using SoftPrompt.Models;
using SoftPrompt.Tuning.Heads;
using SoftPrompt.Tuning.PromptTuning;

namespace SoftPrompt.Tuning.VisualPrompts;

/// <summary>
/// What a method of the registry is given to adapt a pretrained ViT to a new label set
/// (<see cref="TuningMethod.PrepareVision"/>), as compared in Jia et al. 2022: always a new linear head on the CLS
/// row, plus visual prompts in some layers and/or the whole backbone. The pretraining classifier never trains: the
/// new task has other classes.
/// </summary>
public sealed record VisionContext(Vit Model, IReadOnlyList<string> Classes, MethodSettings Settings)
{
    /// <summary>Sets which of the model's weights train and makes the new head, with
    /// <see cref="MethodSettings.PromptLength"/> prompt tokens in the first <paramref name="promptLayers"/> layers (−1:
    /// every layer; 0: none).</summary>
    public VisualSetup Adapt(int promptLayers, bool trainsBackbone, float learningRate, string note)
    {
        Model.SetTrainable(name => trainsBackbone && Model.Backbone.Any(p => p.Name == name));
        var head = new LinearHead(Classes, Model.Config.HiddenSize, "head", Settings.Seed);
        int layers = promptLayers < 0 ? Model.Config.NumLayers : promptLayers;
        var prompts = layers > 0 ? new VisualPrompts(Settings.PromptLength, layers, Model.Config, Settings.Seed) : null;
        var objective = new ImageClassification(Model, head, prompts);
        IReadOnlyList<Tensor> trainable =
        [
            .. trainsBackbone ? Model.Backbone.Select(p => p.Tensor) : [],
            .. prompts is not null ? [prompts.Prompts] : Array.Empty<Tensor>(),
            .. head.Tensors,
        ];
        var training = Settings.Training with { Optimizer = "adamw", LearningRate = learningRate, WeightDecay = 0f };
        // A frozen backbone's task keeps only its head and prompts; full fine-tuning has nothing small to keep.
        return new VisualSetup(objective, trainable, training, $"{note}; AdamW lr {learningRate}",
            trainsBackbone ? null : objective.SaveAdapter);
    }
}

/// <summary>A method ready to train on a ViT.</summary>
/// <param name="Save">Writes the head (and prompts) as an adapter directory; null when the backbone trains.</param>
public sealed record VisualSetup(ImageClassification Objective, IReadOnlyList<Tensor> Trainable,
    PromptTuningOptions Training, string Note, Action<string>? Save);

/// <summary>Visual prompt tuning as a registry entry: prompts in the first <paramref name="promptLayers"/> layers (−1:
/// every layer) and a new head, the backbone frozen.</summary>
public sealed class VisualPromptMethod(string name, int promptLayers, string summary) : TuningMethod
{
    public override string Name => name;
    public override string Summary => summary;
    public override ModelFamilies Families => ModelFamilies.Vision;
    public override bool SupportsGeneration => false;

    protected override PreparedMethod<T> PrepareFor<T>(MethodContext<T> context) =>
        throw new NotSupportedException(TuningMethods.Unsupported(this, ModelFamily.Of(context.Model)));

    protected override VisualSetup PrepareForVision(VisionContext context) =>
        context.Adapt(promptLayers, trainsBackbone: false, 1e-2f, summary);
}
