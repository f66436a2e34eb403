using SoftPrompt.Data.Images;
using SoftPrompt.Data.Tasks;
using SoftPrompt.Engine;
using SoftPrompt.Models.Formats;
using SoftPrompt.Training.Progress;
using SoftPrompt.Tuning.PromptTuning;

namespace SoftPrompt.Tuning.Comparison;

/// <summary>
/// One method of the registry trained on one task over the model family it finds at the model path: a classification
/// task over a decoder (LoRA, prefix, deep prompts, adapters, BitFit, …: prepared as a <see cref="ComparisonRun"/>
/// prepares it), over a T5 (prompt tuning on the encoder, prefix, full fine-tuning), or an image task over a ViT
/// (linear probe, VPT, full fine-tuning). Trained by the same trainer with checkpoints in the output directory, scored
/// beside the untuned model and the majority class, and saved as its adapter directory with the task's definition
/// (which `eval --adapter` and `serve` read). What `softprompt tune --method M` runs.
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
        double MajorityMacroF1, string? AdapterDirectory)
    {
        /// <summary>False where the untuned model has no answer to compare with (a ViT's new head).</summary>
        public bool HasZeroShot => !double.IsNaN(ZeroShotAccuracy);
    }

    /// <param name="log">Receives the line that describes the task's splits and the method's trainable values.</param>
    public static Outcome Run(Settings s, ITrainingProgress progress, Action<string> log) =>
        ModelFamily.OfStoredModel(s.ModelPath) switch
        {
            ModelFamilies.EncoderDecoder => RunOnT5(s, progress, log),
            ModelFamilies.Vision => RunOnVit(s, progress, log),
            _ => RunOnStack(s, progress, log),
        };

    private static Outcome RunOnStack(Settings s, ITrainingProgress progress, Action<string> log)
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
        var (train, validation, test) = Splits(definition, s);

        var run = new ComparisonRun(s.ModelPath, family, s.Methods, 0, s.EvalExamples, s.TestExamples, null,
            SilentProgress.Instance, _ => { });
        var prepared = method.Prepare(run.VerbalizerContext(loaded, definition, train));
        long trainable = prepared.Trainable.Sum(t => (long)t.Length);
        log($"Task {s.TaskName}: {train.Count} train, {validation.Count} validation, {test.Count} test examples; " +
            $"{method.Name}: {prepared.Note}; " +
            $"{trainable:N0} trainable values ({100.0 * trainable / frozen.ParameterCount:F3}% of the frozen " +
                $"{frozen.ParameterCount:N0}).");
        // The untuned model first: fine-tuning methods change the base's own weights in place.
        var (baseline, baselineF1) = new PromptClassifier(frozen, loaded.Tokenizer, definition, prompt: null).Evaluate(
            test);
        int steps = 0;
        if (prepared.Search is { } search) steps = search(train, validation).Steps;
        else if (prepared.Training is { } training)
            steps = Train(prepared.Objective, training, prepared.Trainable, train, validation, s, progress);

        var (tuned, tunedF1) = ((ILabelPredictor)prepared.Objective).Evaluate(test);
        var (majority, majorityAccuracy, majorityF1) = LabelPredictorExtensions.Majority(test, definition.Labels);
        SaveWithTask(prepared.Save, s, definition, PromptAdapterFiles.FingerprintOf(frozen));
        return new Outcome(method.Name, prepared.Note, trainable, frozen.ParameterCount, steps, test.Count, tuned,
            tunedF1, baseline, baselineF1,
            majority, majorityAccuracy, majorityF1, prepared.Save is null ? null : s.OutDirectory);
    }

    /// <summary>A classification task over a T5: the method's classifier trained, tested beside the template alone
    /// (rank classification by the decoder) and the majority class.</summary>
    private static Outcome RunOnT5(Settings s, ITrainingProgress progress, Action<string> log)
    {
        var loaded = ModelLoader.LoadT5(s.ModelPath);
        var tokenizer = loaded.Tokenizer ?? throw new FileNotFoundException(
            $"The model at {s.ModelPath} has no tokenizer.json.");
        var method = TuningMethods.Find(s.Method, ModelFamilies.EncoderDecoder);
        if (!method.UsesModel)
            throw new OptionException("Method", $"'{method.Name}' uses no model; run it beside the others with " +
                $"`softprompt t5 compare --methods {method.Name},…` or `softprompt compare`.");
        var definition = TaskDefinition.Load(s.TaskDirectory, s.TaskName) as ClassificationTask
            ?? throw new OptionException("Method", $"on a T5 trains classification tasks; {s.TaskName} is not one.");
        var frozen = loaded.Model;
        frozen.SetTrainable(false);
        var (train, validation, test) = Splits(definition, s);
        var (baseline, baselineF1, _) = new EncoderDecoder.T5Classifier(frozen, tokenizer, definition, null)
            .Metrics(test);
        long baseSize = frozen.ParameterCount;
        var setup = method.PrepareEncoderDecoder(new EncoderDecoder.EncoderDecoderContext(frozen, tokenizer,
            definition, s.Methods, s.ModelPath));
        long trainable = setup.Trainable.Sum(t => (long)t.Length);
        log($"Task {s.TaskName}: {train.Count} train, {validation.Count} validation, {test.Count} test examples; " +
            $"{method.Name}: {setup.Note}; {trainable:N0} trainable values " +
            $"({100.0 * trainable / baseSize:F3}% of the T5's {baseSize:N0}).");
        int steps = setup.Training is { } training
            ? Train(setup.Classifier, training, setup.Trainable, train, validation, s, progress) : 0;
        var (tuned, tunedF1, _) = setup.Classifier.Metrics(test);
        var (majority, majorityAccuracy, majorityF1) = LabelPredictorExtensions.Majority(test, definition.Labels);
        SaveWithTask(setup.Save, s, definition, PromptAdapterFiles.FingerprintOf(frozen.TokenEmbedding,
            frozen.Config));
        return new Outcome(method.Name, setup.Note, trainable, baseSize, steps, test.Count, tuned, tunedF1, baseline,
            baselineF1, majority, majorityAccuracy, majorityF1, setup.Save is null ? null : s.OutDirectory);
    }

    /// <summary>An image task (data/glyphs' layout) over a ViT: a new head, with prompts or the backbone as the
    /// method says; the untuned model has no answer for new classes, so there is no zero-shot figure.</summary>
    private static Outcome RunOnVit(Settings s, ITrainingProgress progress, Action<string> log)
    {
        var method = TuningMethods.Find(s.Method, ModelFamilies.Vision);
        var data = ImageTask.Load(s.TaskDirectory);
        var model = VitFiles.Load(s.ModelPath);
        long backbone = model.Backbone.Sum(p => (long)p.Tensor.Length);
        var setup = method.PrepareVision(new VisualPrompts.VisionContext(model, data.Classes, s.Methods));
        var validation = TaskFile.EvenSubset(data.Validation.ToList(), s.EvalExamples);
        var test = TaskFile.EvenSubset(data.Test.ToList(), s.TestExamples);
        long trainable = setup.Trainable.Sum(t => (long)t.Length);
        log($"Task {data.Name}: {data.Train.Count} train, {validation.Count} validation, {test.Count} test images " +
            $"({data.Classes.Count} classes); {method.Name}: {setup.Note}; {trainable:N0} trainable values " +
            $"({100.0 * trainable / backbone:F3}% of the ViT backbone's {backbone:N0}).");
        int steps = Train(setup.Objective, setup.Training, setup.Trainable, data.Train, validation, s, progress);
        var (accuracy, macroF1, majority, majorityAccuracy, majorityF1) = setup.Objective.Evaluate(test);
        setup.Save?.Invoke(s.OutDirectory);
        return new Outcome(method.Name, setup.Note, trainable, backbone, steps, test.Count, accuracy, macroF1,
            double.NaN, double.NaN, majority, majorityAccuracy, majorityF1, setup.Save is null ? null : s.OutDirectory);
    }

    /// <summary>The method's adapter directory, with softprompt_task.json (task definition and base fingerprint) where
    /// the method's own files did not write one, so `eval --adapter` and `serve` read inputs as training did.</summary>
    private static void SaveWithTask(Action<string>? save, Settings s, ClassificationTask definition,
        string baseFingerprint)
    {
        if (save is null) return;
        save(s.OutDirectory);
        if (!File.Exists(Path.Combine(s.OutDirectory, PromptAdapterFiles.TaskFile)))
            PromptAdapterFiles.SaveTaskOf(s.OutDirectory, s.TaskName, definition, baseFingerprint);
    }

    private static (List<LabeledExample> Train, List<LabeledExample> Validation, List<LabeledExample> Test) Splits(
        ClassificationTask definition, Settings s)
    {
        string Split(string name) => Path.Combine(s.TaskDirectory, name + ".jsonl");
        return (definition.ReadSplit(Split("train")),
            TaskFile.EvenSubset(definition.ReadSplit(Split("validation")), s.EvalExamples),
            TaskFile.EvenSubset(definition.ReadSplit(Split("test")), s.TestExamples));
    }

    /// <summary>The one trainer, checkpointing in the output directory (`--resume` continues there); the steps
    /// taken.</summary>
    private static int Train<T>(IPromptObjective<T> objective, PromptTuningOptions training,
        IReadOnlyList<Engine.Tensor> trainable, IReadOnlyList<T> train, IReadOnlyList<T> validation, Settings s,
        ITrainingProgress progress) =>
        new PromptTuner<T>(objective, training, new TrainingCurve(progress), trainable)
            .Run(train, validation, Path.Combine(s.OutDirectory, "checkpoint"), s.Resume).Steps;
}
