using System.Diagnostics;
using SoftPrompt.Data.Tasks;
using SoftPrompt.Engine;
using SoftPrompt.Models.Formats;
using SoftPrompt.Training.Progress;
using SoftPrompt.Tuning.Comparison;
using SoftPrompt.Tuning.PromptTuning;

namespace SoftPrompt.Tuning.EncoderDecoder;

/// <summary>
/// `t5 compare` as a library run: each method of the registry that runs on a T5 on a fresh copy of the same T5 base,
/// trained by the one trainer, scored on the test split (accuracy, macro-F1, exact match of greedy decoding, gold-label
/// loss).
/// </summary>
/// <param name="onRow">Called with the table so far after every method, so a long run that is stopped keeps its
/// rows.</param>
public sealed class T5ComparisonRun(string modelPath, ClassificationTask task, MethodSettings settings,
    ITrainingProgress progress,
    Action<string> log, Action<ComparisonTable>? onRow = null)
{
    public static readonly string[] MetricNames = ["accuracy", "macro-F1", "exact match", "label loss"];

    private long _baseSize; // the base's parameters, known once a method has loaded it

    /// <summary>The named methods, or a refusal that lists the ones that run on a T5.</summary>
    public static IReadOnlyList<TuningMethod> Find(IEnumerable<string> names) => names
        .Select(name =>
        {
            try { return TuningMethods.Find(name, ModelFamilies.EncoderDecoder); }
            catch (Exception e) when (e is ArgumentException or NotSupportedException)
            {
                throw new OptionException("Methods", $"has no T5 method '{name}' (known: " +
                    $"{string.Join(", ", TuningMethods.For(ModelFamilies.EncoderDecoder).Select(m => m.Name))}).");
            }
        })
        .ToList();

    public ComparisonTable Run(IReadOnlyList<TuningMethod> methods, List<LabeledExample> train,
        List<LabeledExample> validation,
        List<LabeledExample> test)
    {
        var (majority, majorityRate, _) = LabelPredictorExtensions.Majority(test, task.Labels);
        var rows = new List<ComparisonRow>();
        ComparisonTable Table() => new(
            $"Task {task.Name}: {train.Count} train, {test.Count} test examples; majority class \"{majority}\" " +
            $"{majorityRate:P1}. Accuracy ranks the labels by the decoder's log-probability; " +
            $"exact match is greedy decoding producing the gold label word then </s>; label loss is −log Pr(gold " +
                $"label, </s>) per token " +
            $"(lower is better). Base: {modelPath} ({_baseSize:N0} parameters).",
            MetricNames, _baseSize, rows);
        foreach (var method in methods)
        {
            rows.Add(method.UsesModel ? TrainedRow(method, train, validation, test)
                : ModelFreeRow(method, train, validation, test));
            onRow?.Invoke(Table());
        }
        return Table();
    }

    private ComparisonRow TrainedRow(TuningMethod method, List<LabeledExample> train, List<LabeledExample> validation,
        List<LabeledExample> test)
    {
        var loaded = ModelLoader.LoadT5(modelPath); // every method from the same untouched base
        var tokenizer = loaded.Tokenizer ?? throw new FileNotFoundException(
            $"The model at {modelPath} has no tokenizer.json.");
        var frozen = loaded.Model;
        frozen.SetTrainable(false);
        _baseSize = frozen.ParameterCount;
        var setup = method.PrepareEncoderDecoder(new EncoderDecoderContext(frozen, tokenizer, task, settings,
            modelPath));
        var clock = Stopwatch.StartNew();
        int trainedSteps = 0;
        double tokensPerSecond = 0;
        if (setup.Training is { } training)
        {
            log($"{method.Name}: {setup.Note}");
            trainedSteps = new PromptTuner<LabeledExample>(setup.Classifier, training, progress, setup.Trainable)
                .Run(train, validation).Steps;
            double meanTokens = train.Take(200).Average(e => setup.Classifier.InputTokens(e).Length);
            tokensPerSecond = trainedSteps * training.BatchSize * meanTokens / Math.Max(clock.Elapsed.TotalSeconds,
                1e-9);
        }
        var (accuracy, f1, labelLoss) = setup.Classifier.Metrics(test);
        double exact = setup.Classifier.ExactMatch(test);
        log($"{method.Name}: accuracy {accuracy:F4}, macro-F1 {f1:F4}, exact match {exact:F4}, gold-label loss " +
            $"{labelLoss:F3} " +
            $"({clock.Elapsed.TotalSeconds:F0} s)");
        return new ComparisonRow(method.Name, setup.Trainable.Sum(t => (long)t.Length),
            setup.StoredValues * sizeof(float),
            [accuracy, f1, exact, labelLoss], clock.Elapsed.TotalSeconds, trainedSteps, tokensPerSecond,
                setup.Note);
    }

    /// <summary>The bag-of-words baseline's row: accuracy and macro-F1; exact match and label loss need a decoder
    /// (–).</summary>
    private ComparisonRow ModelFreeRow(TuningMethod method, List<LabeledExample> train, List<LabeledExample> validation,
        List<LabeledExample> test)
    {
        var clock = Stopwatch.StartNew();
        var bow = new BagOfWords.BagOfWordsClassifier(task);
        bow.Fit(train, validation);
        var (accuracy, f1) = LabelPredictorExtensions.Score(test, test.Select(bow.Predict).ToArray(), task.Labels);
        log($"{method.Name}: accuracy {accuracy:F4}, macro-F1 {f1:F4} ({clock.Elapsed.TotalSeconds:F0} s)");
        return new ComparisonRow(method.Name, bow.ParameterCount, 0, [accuracy, f1, double.NaN, double.NaN],
            clock.Elapsed.TotalSeconds, 0, 0,
            $"{method.Summary}; {bow.FeatureCount:N0} n-grams");
    }
}
