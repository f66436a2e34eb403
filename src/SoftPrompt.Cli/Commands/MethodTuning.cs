using System.Diagnostics;
using SoftPrompt.Data.Tasks;
using SoftPrompt.Models.Formats;
using SoftPrompt.Training.Progress;
using SoftPrompt.Tuning;
using SoftPrompt.Tuning.Comparison;
using SoftPrompt.Tuning.PromptTuning;

namespace SoftPrompt.Cli.Commands;

/// <summary>
/// `softprompt tune --method M` for a method of the registry other than prompt tuning (LoRA, prefix, deep prompts,
/// adapters, BitFit, …) on a classification task over a decoder: the method prepared as `compare` prepares it, trained
/// by the same trainer with checkpoints in --out, scored beside the untuned template and the majority class, and saved
/// as its adapter directory with the task's definition, which `eval --adapter` and `serve` read.
/// </summary>
internal static class MethodTuning
{
    public sealed record Settings(string Method, string ModelPath, string TaskName, string TaskDirectory, string OutDirectory,
        MethodSettings Methods, int EvalExamples, int TestExamples, bool Resume);

    public static int Run(Settings s)
    {
        var clock = Stopwatch.StartNew();
        var loaded = ModelLoader.Load(s.ModelPath);
        if (loaded.Tokenizer is null) throw new FileNotFoundException($"The model at {loaded.Source} has no tokenizer.");
        var family = ModelFamily.Of(loaded.Transformer);
        var method = TuningMethods.Find(s.Method, family);
        var task = TaskDefinition.Load(s.TaskDirectory, s.TaskName);
        if (family != ModelFamilies.Decoder || task is not ClassificationTask definition)
            throw new ArgumentException($"tune --method {s.Method} runs classification tasks on a decoder; for {s.TaskName} (a {task.Kind} task) on " +
                $"{ModelFamily.Describe(family)}, use `softprompt compare --methods {s.Method} --save-adapters DIR`.");
        var frozen = loaded.Model;
        frozen.SetTrainable(false);
        string Split(string name) => Path.Combine(s.TaskDirectory, name + ".jsonl");
        var train = definition.ReadSplit(Split("train"));
        var validation = TaskFile.EvenSubset(definition.ReadSplit(Split("validation")), s.EvalExamples);
        var test = TaskFile.EvenSubset(definition.ReadSplit(Split("test")), s.TestExamples);

        var run = new ComparisonRun(s.ModelPath, family, s.Methods, 0, s.EvalExamples, s.TestExamples, null, SilentProgress.Instance, _ => { });
        var prepared = method.Prepare(run.VerbalizerContext(loaded, definition, train));
        long trainable = prepared.Trainable.Sum(t => (long)t.Length);
        Console.Error.WriteLine($"Task {s.TaskName}: {train.Count} train, {validation.Count} validation, {test.Count} test examples; " +
                                $"{method.Name}: {prepared.Note}; {trainable:N0} trainable values ({100.0 * trainable / frozen.ParameterCount:F3}% of the frozen {frozen.ParameterCount:N0}).");
        int steps = 0;
        if (prepared.Search is { } search) steps = search(train, validation).Steps;
        else if (prepared.Training is { } training)
            steps = new PromptTuner<LabeledExample>(prepared.Objective, training, new TrainingCurve(new ConsoleProgress(TimeSpan.FromSeconds(10))), prepared.Trainable)
                .Run(train, validation, Path.Combine(s.OutDirectory, "checkpoint"), s.Resume).Steps;

        var (tuned, tunedF1) = ((ILabelPredictor)prepared.Objective).Evaluate(test);
        var (baseline, baselineF1) = new PromptClassifier(frozen, loaded.Tokenizer, definition, prompt: null).Evaluate(test);
        string majority = test.GroupBy(e => e.Label).OrderByDescending(g => g.Count()).First().Key;
        var (majorityAccuracy, majorityF1) = LabelPredictorExtensions.Score(test, test.Select(_ => majority).ToArray(), definition.Labels);
        if (prepared.Save is { } save)
        {
            save(s.OutDirectory);
            if (!File.Exists(Path.Combine(s.OutDirectory, PromptAdapterFiles.TaskFile)))
                PromptAdapterFiles.SaveTaskOf(s.OutDirectory, s.TaskName, definition, PromptAdapterFiles.FingerprintOf(frozen));
        }
        var report = new
        {
            task = s.TaskName, method = method.Name, note = prepared.Note, trainable_params = trainable,
            percent_of_base = Math.Round(100.0 * trainable / frozen.ParameterCount, 4), steps, test_examples = test.Count,
            test_accuracy = Math.Round(tuned, 4), test_macro_f1 = Math.Round(tunedF1, 4),
            zero_shot_accuracy = Math.Round(baseline, 4), zero_shot_macro_f1 = Math.Round(baselineF1, 4),
            majority_class = majority, majority_accuracy = Math.Round(majorityAccuracy, 4), majority_macro_f1 = Math.Round(majorityF1, 4),
            seconds = Math.Round(clock.Elapsed.TotalSeconds, 1), adapter = prepared.Save is null ? null : s.OutDirectory,
        };
        Console.WriteLine(System.Text.Json.JsonSerializer.Serialize(report));
        Console.Error.WriteLine($"{method.Name}: {tuned:P1} test accuracy (macro-F1 {tunedF1:F3}) on {test.Count:N0} {s.TaskName} test examples; " +
                                $"the untuned template {baseline:P1} (macro-F1 {baselineF1:F3}); always answering \"{majority}\" {majorityAccuracy:P1} " +
                                $"(macro-F1 {majorityF1:F3}). {trainable:N0} trained values ({100.0 * trainable / frozen.ParameterCount:F3}% of the base)" +
                                (prepared.Save is null ? "; nothing to save." : $"; adapter in {s.OutDirectory}."));
        return 0;
    }
}
