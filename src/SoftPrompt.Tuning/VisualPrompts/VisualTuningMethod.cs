using SoftPrompt.Engine;
using SoftPrompt.Models;
using SoftPrompt.Tuning.Heads;

namespace SoftPrompt.Tuning.VisualPrompts;

/// <summary>
/// One way to adapt a pretrained ViT to a new label set, as compared in Jia et al. 2022: always a new linear head on
/// the CLS row, plus visual prompts in the first <see cref="PromptLayers"/> layers (−1: every layer) and/or the whole
/// backbone. The pretraining classifier never trains: the new task has other classes.
/// </summary>
public sealed record VisualTuningMethod(string Name, string Description, int PromptLayers, bool TrainsBackbone,
    float LearningRate)
{
    public static readonly IReadOnlyList<VisualTuningMethod> All =
    [
        new("linear", "linear probing: a new head on the frozen CLS feature", 0, false, 1e-2f),
        new("vpt-shallow", "VPT-shallow: prompts inserted after CLS at the input + head", 1, false, 1e-2f),
        new("vpt-deep", "VPT-deep: new prompts at every layer's input + head", -1, false, 1e-2f),
        new("full", "full fine-tuning: every backbone weight + head", 0, true, 1e-3f),
    ];

    public static VisualTuningMethod Named(string name) =>
        All.FirstOrDefault(m => m.Name == name)
        ?? throw new ArgumentException($"Unknown method '{name}': use {string.Join(", ", All.Select(m => m.Name))}.");

    /// <summary>Sets which of the model's weights train and makes the new head (and prompts) for the task.</summary>
    public ImageClassification Build(Vit model, IReadOnlyList<string> classes, int promptTokens, int seed)
    {
        model.SetTrainable(name => TrainsBackbone && model.Backbone.Any(p => p.Name == name));
        var head = new LinearHead(classes, model.Config.HiddenSize, "head", seed);
        int layers = PromptLayers < 0 ? model.Config.NumLayers : PromptLayers;
        var prompts = layers > 0 ? new VisualPrompts(promptTokens, layers, model.Config, seed) : null;
        return new ImageClassification(model, head, prompts);
    }

    /// <summary>The tensors this method updates, in the objective <see cref="Build"/> made.</summary>
    public IReadOnlyList<Tensor> Trainable(ImageClassification objective) =>
    [
        .. TrainsBackbone ? objective.Model.Backbone.Select(p => p.Tensor) : [],
        .. objective.VisualPrompts is { } prompts ? [prompts.Prompts] : Array.Empty<Tensor>(),
        .. objective.Head.Tensors,
    ];
}
