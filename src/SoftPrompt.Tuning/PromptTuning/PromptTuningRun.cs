using System.Diagnostics;
using SoftPrompt.Data.Tasks;
using SoftPrompt.Data.Tokenizers;
using SoftPrompt.Engine;
using SoftPrompt.Models;
using SoftPrompt.Training.Progress;

namespace SoftPrompt.Tuning.PromptTuning;

/// <summary>
/// Lester et al.'s prompt tuning of one task over a frozen decoder, end to end: the prompt initialised, trained with
/// checkpoints in the output directory (the best validation step kept), scored on the test split beside the untuned
/// template (and, for classification, the majority class), and saved as a PEFT adapter directory with the task's
/// definition and the training curve. What `softprompt tune` runs; the outcome's figures are the CLI's to print.
/// </summary>
public static class PromptTuningRun
{
    /// <param name="PromptLength">Null: the task template's {soft*k}, else the init text's token count (--init text),
    /// else <see cref="DefaultPromptLength"/>.</param>
    /// <param name="Placement">Null: where the task template's {soft} slot is, else before the input.</param>
    public sealed record Settings(string TaskName, string TaskDirectory, string OutDirectory, int? PromptLength,
        PromptPlacement? Placement,
        string Init, string? InitText, int Seed, PromptTuningOptions Options, int EvalExamples, int TestExamples,
        bool Resume,
        bool PerToken, ClassificationLoss Loss, bool BalanceLabels = false,
        KeptStateCriterion KeepBy = KeptStateCriterion.Accuracy);

    public const int DefaultPromptLength = 20;

    /// <summary>What every run reports: the prompt's size against the base, training, and where the adapter
    /// went.</summary>
    public abstract record Outcome(string Task, int PromptLength, PromptPlacement Placement, long TrainableParameters,
        long BaseParameters, int Steps, int BestStep,
        double BestValidationScore, bool StoppedEarly, int TestExamples, string AdapterDirectory, double Seconds);

    /// <param name="EffectiveLoss">The loss the classifier trained with (auto resolved).</param>
    public sealed record ClassificationOutcome(string Task, int PromptLength, PromptPlacement Placement,
        long TrainableParameters, long BaseParameters, int Steps, int BestStep,
        double BestValidationScore, bool StoppedEarly, int TestExamples, string AdapterDirectory, double Seconds,
        ClassificationLoss EffectiveLoss,
        double Accuracy, double MacroF1, double ZeroShotAccuracy, double ZeroShotMacroF1, string MajorityClass,
        double MajorityAccuracy,
        double MajorityMacroF1, string ValidationMetric = "accuracy")
        : Outcome(Task, PromptLength, Placement, TrainableParameters, BaseParameters, Steps, BestStep,
            BestValidationScore, StoppedEarly, TestExamples,
            AdapterDirectory, Seconds);

    public sealed record GenerationOutcome(string Task, int PromptLength, PromptPlacement Placement,
        long TrainableParameters, long BaseParameters, int Steps, int BestStep,
        double BestValidationScore, bool StoppedEarly, int TestExamples, string AdapterDirectory, double Seconds,
        double Bleu, double RougeL,
        double ZeroShotBleu, double ZeroShotRougeL)
        : Outcome(Task, PromptLength, Placement, TrainableParameters, BaseParameters, Steps, BestStep,
            BestValidationScore, StoppedEarly, TestExamples,
            AdapterDirectory, Seconds);

    /// <param name="modelSource">Where the frozen model came from, recorded in the adapter's config.</param>
    /// <param name="log">Receives the lines a person watching wants: the splits and trainable values, the loss in use,
    /// and a few generated samples.</param>
    public static Outcome Run(CausalLanguageModel frozen, ITokenizer tokenizer, string modelSource, Settings s,
        ITrainingProgress progress,
        Action<string> log)
    {
        var clock = Stopwatch.StartNew();
        // kept in the adapter, so serving reads inputs as training did
        var taskDefinition = TaskDefinition.Load(s.TaskDirectory, s.TaskName);
        var slot = (taskDefinition as ClassificationTask)?.Soft;
        var initKind = PromptInit.Parse(s.Init);
        int[]? initTokens = s.InitText is string text ? tokenizer.Encode(text) : null;
        // An init text sets the length when nothing else does: its tokens exactly, neither cut nor repeated.
        int? textLength = initKind == PromptInitKind.Text && initTokens is { Length: > 0 }
            ? initTokens.Length : null;
        var prompt = new PromptEmbedding(s.PromptLength ?? slot?.Count ?? textLength ?? DefaultPromptLength,
            frozen.Config.HiddenSize)
        {
            Placement = s.Placement ?? (slot?.Position == SoftSlotPosition.End ? PromptPlacement.BeforeAnswer
                : PromptPlacement.BeforeInput),
        };
        string Split(string name) => Path.Combine(s.TaskDirectory, name + ".jsonl");
        void Initialize(IEnumerable<int[]> trainInputs, IReadOnlyList<int[]> labelTokens) =>
            PromptInit.Apply(prompt, initKind, frozen.TokenEmbedding, s.Seed,
                PromptInit.MostFrequentTokens(trainInputs, 5000),
                labelTokens, initTokens);
        void Describe(int train, int validation, int test) =>
            log($"Task {s.TaskName}: {train} train, {validation} validation, {test} test examples; " +
                $"{prompt.Length} × {prompt.Prompt.Dim(1)} = {prompt.Prompt.Length:N0} trainable values " +
                $"({100.0 * prompt.Prompt.Length / frozen.ParameterCount:F3}% of the frozen " +
                    $"{frozen.ParameterCount:N0}).");
        var curve = new TrainingCurve(progress);
        Outcome outcome;
        if (taskDefinition is GenerationTask && (s.BalanceLabels || s.KeepBy != KeptStateCriterion.Accuracy))
            throw new OptionException(s.BalanceLabels ? "BalanceLabels" : "KeepBy",
                $"applies to classification; {s.TaskName} is a generation task.");
        if (taskDefinition is GenerationTask generation)
        {
            var train = generation.ReadSplit(Split("train"));
            var validation = TaskFile.EvenSubset(generation.ReadSplit(Split("validation")), s.EvalExamples);
            var test = TaskFile.EvenSubset(generation.ReadSplit(Split("test")), s.TestExamples);
            var generator = new PromptGenerator(frozen, tokenizer, generation, prompt);
            Initialize(train.Select(generator.InputTokens), Array.Empty<int[]>());
            Describe(train.Count, validation.Count, test.Count);
            var result = new PromptTuner<TextExample>(generator, s.Options, curve).Run(train, validation,
                Path.Combine(s.OutDirectory, "checkpoint"), s.Resume);
            var (bleu, rouge, outputs) = generator.Evaluate(test);
            var (baseBleu, baseRouge, _) = new PromptGenerator(frozen, tokenizer, generation, prompt: null).Evaluate(
                test);
            for (int i = 0; i < Math.Min(3, test.Count); i++)
                log($"  {generation.Render(test[i])}{generation.Target(test[i])}\n    → {outputs[i]}");
            outcome = new GenerationOutcome(s.TaskName, prompt.Length, prompt.Placement, prompt.Prompt.Length,
                frozen.ParameterCount, result.Steps, result.BestStep,
                result.BestScore, result.StoppedEarly, test.Count, s.OutDirectory, 0, bleu, rouge, baseBleu, baseRouge);
        }
        else
        {
            var definition = TaskDefinition.AsClassification(taskDefinition, Path.Combine(s.TaskDirectory,
                TaskDefinition.FileName));
            var train = definition.ReadSplit(Split("train"));
            if (s.BalanceLabels)
            {
                int rows = train.Count;
                train = TaskFile.BalancedByLabel(train, e => e.Label);
                log($"Balanced labels: {rows} training rows drawn as {train.Count}, every label equally often.");
            }
            var validation = TaskFile.EvenSubset(definition.ReadSplit(Split("validation")), s.EvalExamples);
            var test = TaskFile.EvenSubset(definition.ReadSplit(Split("test")), s.TestExamples);
            var classifier = new PromptClassifier(frozen, tokenizer, definition, prompt)
            {
                LengthNormalized = s.PerToken, TrainingLoss = s.Loss, KeepBy = s.KeepBy,
            };
            Initialize(train.Select(classifier.InputTokens), definition.Labels.Select(l => classifier.LabelTokens[l])
                .ToList());
            if (classifier.TrainingLoss == ClassificationLoss.Auto
                && classifier.EffectiveLoss == ClassificationLoss.Vocabulary)
                log($"Training with the loss over the whole vocabulary (--loss auto): {classifier.LabelChoiceProblem}");
            Describe(train.Count, validation.Count, test.Count);
            var result = new PromptTuner<LabeledExample>(classifier, s.Options, curve).Run(train, validation,
                Path.Combine(s.OutDirectory, "checkpoint"), s.Resume);
            var (tuned, tunedF1) = classifier.Evaluate(test, s.PerToken);
            var (baseline, baselineF1) = new PromptClassifier(frozen, tokenizer, definition, prompt: null).Evaluate(
                test, s.PerToken);
            var (majority, majorityAccuracy, majorityF1) = LabelPredictorExtensions.Majority(test, definition.Labels);
            outcome = new ClassificationOutcome(s.TaskName, prompt.Length, prompt.Placement, prompt.Prompt.Length,
                frozen.ParameterCount, result.Steps, result.BestStep,
                result.BestScore, result.StoppedEarly, test.Count, s.OutDirectory, 0, classifier.EffectiveLoss, tuned,
                tunedF1, baseline, baselineF1,
                majority, majorityAccuracy, majorityF1, classifier.ScoreName);
        }
        curve.Save(s.OutDirectory); // before the config: the config's presence marks the directory complete
        PromptAdapterFiles.Save(s.OutDirectory, prompt, PromptAdapterFiles.Info.For(frozen, modelSource, s.Init,
            s.InitText, s.TaskName, taskDefinition));
        return outcome with { Seconds = clock.Elapsed.TotalSeconds };
    }
}
