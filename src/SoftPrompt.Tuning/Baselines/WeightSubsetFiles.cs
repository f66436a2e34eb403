using SoftPrompt.Engine.IO;
using SoftPrompt.Models;

namespace SoftPrompt.Tuning.Baselines;

/// <summary>
/// The weights a fine-tuning baseline trained (all, the top blocks, BitFit's biases or norm gains), under the base
/// model's own tensor names — what a task must keep to reproduce its predictions. Our own peft_type: PEFT keeps such
/// weights inside a full model checkpoint instead. Loading writes them into a model, so it is for evaluation, never
/// for a model that serves other tasks.
/// </summary>
public static class WeightSubsetFiles
{
    public const string PeftType = "SOFTPROMPT_WEIGHT_SUBSET";

    public static void Save(string directory, WeightSubset subset, string baseModel)
    {
        var config = AdapterFiles.Config(PeftType, baseModel);
        config["method"] = subset.Method;
        config["format_note"] = "softprompt's own format: the trained weights under the base model's tensor names";
        AdapterFiles.Write(directory, config, AdapterFiles.Named(subset.Parameters.Select(p => (p.Name, p.Tensor))));
    }

    /// <summary>Overwrites <paramref name="model"/>'s weights with the saved ones; every name and shape is checked
    /// first.</summary>
    public static void LoadInto(string directory, CausalLanguageModel model)
    {
        AdapterFiles.ReadConfig(directory, PeftType);
        var file = AdapterFiles.OpenWeights(directory);
        string path = Path.Combine(directory, AdapterFiles.WeightsFile);
        var targets = file.Names.Select(name => model.Parameters.FirstOrDefault(p => p.Name == name)
            ?? throw new ModelFormatException(path, $"tensor {name} is not a weight of the model.")).ToList();
        foreach (var target in targets) file.ReadFloat32(target.Name, target.Tensor.Span, target.Tensor.Shape);
    }
}
