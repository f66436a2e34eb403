using SoftPrompt.Data.Tasks;
using SoftPrompt.Engine;
using SoftPrompt.Models.Formats;
using SoftPrompt.Training.Progress;
using SoftPrompt.Tuning.PromptTuning;

namespace SoftPrompt.Tuning.Comparison;

/// <summary>
/// One method of the registry other than prompt tuning (LoRA, prefix, deep prompts, adapters, BitFit, …) trained on a
/// classification task over a decoder: prepared as a <see cref="ComparisonRun"/> prepares it, trained by the same
/// trainer with checkpoints in the output directory, scored beside the untuned template and the majority class, and
/// saved as its adapter directory with the task's definition (which `eval --adapter` and `serve` read).
/// What `softprompt tune --method M` runs.
/// </summary>
public static class SingleMethodRun
{
    public sealed record Settings(string Method, string ModelPath, string TaskName, string TaskDirectory,
        string OutDirectory,
        MethodSettings Methods, int EvalExamples, int TestExamples, bool Resume);

    public sealed record Outcome(string Method, string Note, long TrainableParameters, long BaseParameters, int Steps,
        int TestExamples,
        double Accuracy, double MacroF1, double ZeroShotAccuracy, double ZeroShotMacroF1, string MajorityClass,
        double MajorityAccuracy,
        double MajorityMacroF1, string? AdapterDirectory);

    /// <param name="log">Receives the line that describes the task's splits and the method's trainable values.</param>
    public static Outcome Run(Settings s, ITrainingProgress progress, Action<string> log)
    {
        var loaded = ModelLoader.Load(s.ModelPath);
        if (loaded.Tokenizer is null)
            throw new FileNotFoundException($"The model at {loaded.Source} has no tokenizer.");
        var family = ModelFamily.Of(loaded.Transformer);
        var method = TuningMethods.Find(s.Method, family);
        var task = TaskDefinition.Load(s.TaskDirectory, s.TaskName);
        if (family != ModelFamilies.Decoder || task is not ClassificationTask definition)
            throw new OptionException("Method",
                $"runs classification tasks on a decoder; for {s.TaskName} (a {task.Kind} task) on " +
                $"{ModelFamily.Describe(family)}, use `softprompt compare --methods {s.Method} --save-adapters DIR`.");
        var frozen = loaded.Model;
        frozen.SetTrainable(false);
        string Split(string name) => Path.Combine(s.TaskDirectory, name + ".jsonl");
        var train = definition.ReadSplit(Split("train"));
        var validation = TaskFile.EvenSubset(definition.ReadSplit(Split("validation")), s.EvalExamples);
        var test = TaskFile.EvenSubset(definition.ReadSplit(Split("test")), s.TestExamples);

        var run = new ComparisonRun(s.ModelPath, family, s.Methods, 0, s.EvalExamples, s.TestExamples, null,
            SilentProgress.Instance, _ => { });
        var prepared = method.Prepare(run.VerbalizerContext(loaded, definition, train));
        long trainable = prepared.Trainable.Sum(t => (long)t.Length);
        log($"Task {s.TaskName}: {train.Count} train, {validation.Count} validation, {test.Count} test examples; " +
            $"{method.Name}: {prepared.Note}; " +
            $"{trainable:N0} trainable values ({100.0 * trainable / frozen.ParameterCount:F3}% of the frozen " +
                $"{frozen.ParameterCount:N0}).");
        int steps = 0;
        if (prepared.Search is { } search) steps = search(train, validation).Steps;
        else if (prepared.Training is { } training)
            steps = new PromptTuner<LabeledExample>(prepared.Objective, training, new TrainingCurve(progress),
                prepared.Trainable)
                .Run(train, validation, Path.Combine(s.OutDirectory, "checkpoint"), s.Resume).Steps;

        var (tuned, tunedF1) = ((ILabelPredictor)prepared.Objective).Evaluate(test);
        var (baseline, baselineF1) = new PromptClassifier(frozen, loaded.Tokenizer, definition, prompt: null).Evaluate(
            test);
        var (majority, majorityAccuracy, majorityF1) = LabelPredictorExtensions.Majority(test, definition.Labels);
        if (prepared.Save is { } save)
        {
            save(s.OutDirectory);
            if (!File.Exists(Path.Combine(s.OutDirectory, PromptAdapterFiles.TaskFile)))
                PromptAdapterFiles.SaveTaskOf(s.OutDirectory, s.TaskName, definition,
                    PromptAdapterFiles.FingerprintOf(frozen));
        }
        return new Outcome(method.Name, prepared.Note, trainable, frozen.ParameterCount, steps, test.Count, tuned,
            tunedF1, baseline, baselineF1,
            majority, majorityAccuracy, majorityF1, prepared.Save is null ? null : s.OutDirectory);
    }
}
