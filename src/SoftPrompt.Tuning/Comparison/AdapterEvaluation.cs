using SoftPrompt.Data.Images;
using SoftPrompt.Data.Tasks;
using SoftPrompt.Engine;
using SoftPrompt.Models.Formats;
using SoftPrompt.Tuning.EncoderDecoder;
using SoftPrompt.Tuning.VisualPrompts;

namespace SoftPrompt.Tuning.Comparison;

/// <summary>
/// `softprompt eval` on the families that do not run as one stack: a T5 (the template alone, or with a saved
/// prompt-tuning or prefix adapter) on a classification task, and a ViT with a saved head (and visual prompts) on an
/// image task. Decoders and encoders are scored by the eval command's own path.
/// </summary>
public static class AdapterEvaluation
{
    public sealed record Outcome(string Method, int Examples, double Accuracy, double MacroF1, string MajorityClass,
        double MajorityAccuracy);

    /// <param name="examples">Rows of the split scored, spread over it (0: all).</param>
    public static Outcome Run(string modelPath, string? adapterDirectory, TaskFolder task, string split, int examples)
        => ModelFamily.OfStoredModel(modelPath) switch
        {
            ModelFamilies.EncoderDecoder => OnT5(modelPath, adapterDirectory, task, split, examples),
            ModelFamilies.Vision => OnVit(modelPath, adapterDirectory ?? throw new OptionException("Adapter",
                "is needed on a ViT: its own classifier knows the pretraining classes, not the task's; give the " +
                "folder where `tune --method probe|vpt-shallow|vpt-deep` saved a head (and prompts)."), task, split,
                examples),
            var family => throw new ArgumentException(
                $"{modelPath} is {ModelFamily.Describe(family)}: it is scored by `eval` directly."),
        };

    private static Outcome OnT5(string modelPath, string? adapterDirectory, TaskFolder task, string split,
        int examples)
    {
        var loaded = ModelLoader.LoadT5(modelPath);
        var tokenizer = loaded.Tokenizer ?? throw new FileNotFoundException(
            $"The model at {modelPath} has no tokenizer.json.");
        var model = loaded.Model;
        model.SetTrainable(false);
        var definition = TaskDefinition.AsClassification(TaskDefinition.Load(task.Directory, task.Name),
            Path.Combine(task.Directory, TaskDefinition.FileName));
        var trained = adapterDirectory is null ? null : AdapterDirectory.LoadOnT5(adapterDirectory, model);
        string method = trained?.PeftType.ToLowerInvariant() ?? "zero-shot";
        var rows = TaskFile.EvenSubset(definition.ReadSplit(task.Split(split)), examples);
        var (accuracy, macroF1, _) = new T5Classifier(model, tokenizer, definition, trained?.Prompt)
            { Adapter = trained?.Adapter }.Metrics(rows);
        var (majority, majorityAccuracy, _) = LabelPredictorExtensions.Majority(rows, definition.Labels);
        return new Outcome(method, rows.Count, accuracy, macroF1, majority, majorityAccuracy);
    }

    private static Outcome OnVit(string modelPath, string adapterDirectory, TaskFolder task, string split,
        int examples)
    {
        var data = ImageTask.Load(task.Directory);
        var rows = split switch
        {
            "train" => data.Train, "validation" => data.Validation, "test" => data.Test,
            _ => throw new OptionException("Split", $"is train, validation or test, not '{split}'."),
        };
        rows = TaskFile.EvenSubset(rows.ToList(), examples);
        var objective = ImageClassification.LoadAdapter(adapterDirectory, VitFiles.Load(modelPath), data.Classes);
        var (accuracy, macroF1, majority, majorityAccuracy, _) = objective.Evaluate(rows);
        return new Outcome(objective.VisualPrompts is null ? "probe" : "vpt", rows.Count, accuracy, macroF1, majority,
            majorityAccuracy);
    }
}
