using SoftPrompt.Data.Tasks;
using SoftPrompt.Engine;
using SoftPrompt.Tuning.PromptTuning;

namespace SoftPrompt.Tuning.BagOfWords;

/// <summary>`bow` in compare: tf-idf + logistic regression beside the model's methods (the base model is not
/// used).</summary>
public sealed class BagOfWordsMethod : TuningMethod
{
    public override string Name => "bow";
    public override string Summary =>
        "no language model: tf-idf of word 1-2-grams + logistic regression (what a user would try first)";
    public override bool SupportsGeneration => false;
    /// <summary>Beside every text model's methods: it reads only the task's texts.</summary>
    public override ModelFamilies Families => ModelFamilies.Both | ModelFamilies.EncoderDecoder;
    public override bool UsesModel => false;

    protected override PreparedMethod<T> PrepareFor<T>(MethodContext<T> context)
    {
        var task = context.LabeledTask;
        if (task is null || typeof(T) != typeof(LabeledExample) || context.RequiresHead)
            throw new NotSupportedException("Method 'bow' classifies whole texts: it needs a classification task.");
        var objective = new Objective(task, new BagOfWordsClassifier(task));
        var weights = new List<Tensor>(); // filled once fitted, so the table counts the regression's parameters
        return new((IPromptObjective<T>)(object)objective, weights, 0, null, Summary,
            Search: (train, validation) =>
            {
                var classifier = objective.Classifier;
                int epochs = classifier.Fit((IReadOnlyList<LabeledExample>)train,
                    (IReadOnlyList<LabeledExample>)validation);
                weights.Add(Tensor.Parameter(new[] { task.Labels.Count, classifier.FeatureCount + 1 }, trainable: false,
                    "bow.weights"));
                return (epochs,
                    $"{Summary}; {classifier.FeatureCount:N0} n-grams, L2 {classifier.ChosenRegularization:G2} (best " +
                    $"on validation)");
            });
    }

    /// <summary>The classifier seen as an objective: it predicts labels, but has no loss for a gradient
    /// tuner.</summary>
    private sealed class Objective(ClassificationTask task, BagOfWordsClassifier classifier)
        : IPromptObjective<LabeledExample>, ILabelPredictor
    {
        public BagOfWordsClassifier Classifier => classifier;
        public ClassificationTask Task => task;
        public PromptEmbedding? Prompt => null;
        public string ScoreName => "accuracy";

        public Tensor Loss(Tape tape, IReadOnlyList<LabeledExample> batch) =>
            throw new NotSupportedException(
                "The bag-of-words baseline is fitted in closed loop, not by gradient steps through the model.");

        public double Score(IReadOnlyList<LabeledExample> examples) =>
            examples.Count(e => classifier.Predict(e) == e.Label) / (double)Math.Max(1, examples.Count);

        public string[] Predict(IReadOnlyList<LabeledExample> examples) => examples.Select(classifier.Predict)
            .ToArray();
    }
}
