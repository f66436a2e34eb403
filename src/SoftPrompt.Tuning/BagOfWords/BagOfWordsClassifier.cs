using System.Text.RegularExpressions;
using SoftPrompt.Data.Tasks;

namespace SoftPrompt.Tuning.BagOfWords;

/// <summary>
/// What a practitioner would try before any language model: tf-idf features of word 1- and 2-grams and a multinomial
/// logistic regression on them. It reads the fields the task's template shows (never the label field), knows nothing
/// of the base model, and is the bar a frozen-model method has to clear to be worth its cost.
/// </summary>
public sealed partial class BagOfWordsClassifier
{
    private readonly Dictionary<string, int> _features = new();
    private float[] _idf = Array.Empty<float>();
    private float[] _weights = Array.Empty<float>(); // (classes, features + 1): the last column is the bias
    private readonly IReadOnlyList<string> _labels;
    private readonly string[] _inputFields;

    public BagOfWordsClassifier(ClassificationTask task)
    {
        _labels = task.Labels;
        _inputFields = TaskFile.Slots(task.Template).ToArray();
        if (_inputFields.Length == 0)
            throw new ArgumentException($"Task {task.Name}: the template \"{task.Template}\" shows no {{field}}.");
    }

    /// <summary>Features kept: n-grams in at least this many training texts.</summary>
    public int MinDocumentFrequency { get; init; } = 2;
    /// <summary>L2 strengths tried; the one with the best validation accuracy is kept.</summary>
    public float[] Regularization { get; init; } = { 1e-5f, 1e-4f, 1e-3f, 1e-2f };
    public int Epochs { get; init; } = 200;

    public int FeatureCount => _features.Count;
    public long ParameterCount => (long)_labels.Count * (_features.Count + 1);
    public float ChosenRegularization { get; private set; }

    [GeneratedRegex(@"[\p{L}\p{N}']+")]
    private static partial Regex Word();

    /// <summary>Lower-cased words and adjacent word pairs of a text.</summary>
    public static IEnumerable<string> Ngrams(string text)
    {
        string? previous = null;
        foreach (Match m in Word().Matches(text.ToLowerInvariant()))
        {
            yield return m.Value;
            if (previous is not null) yield return previous + " " + m.Value;
            previous = m.Value;
        }
    }

    private string TextOf(LabeledExample example) =>
        string.Join("\n", _inputFields.Select(f => example.Fields.TryGetValue(f, out var v) ? v : ""));

    /// <summary>Learns the vocabulary and idf from <paramref name="train"/>, then the regression for each strength in
    /// <see cref="Regularization"/>, keeping the best on <paramref name="validation"/>. Returns the epochs run in
    /// all.</summary>
    public int Fit(IReadOnlyList<LabeledExample> train, IReadOnlyList<LabeledExample> validation)
    {
        var documentFrequency = new Dictionary<string, int>();
        foreach (var e in train)
            foreach (var gram in Ngrams(TextOf(e)).Distinct())
                documentFrequency[gram] = documentFrequency.GetValueOrDefault(gram) + 1;
        foreach (var (gram, df) in documentFrequency.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            if (df >= MinDocumentFrequency) _features[gram] = _features.Count;
        _idf = new float[_features.Count];
        foreach (var (gram, index) in _features)
            // smoothed idf
            _idf[index] = (float)(Math.Log((1.0 + train.Count) / (1.0 + documentFrequency[gram])) + 1.0);
        var x = train.Select(e => Vectorize(TextOf(e))).ToArray();
        var y = train.Select(e => IndexOf(e.Label)).ToArray();
        double bestAccuracy = -1;
        float[] best = Array.Empty<float>();
        foreach (float lambda in Regularization)
        {
            _weights = Train(x, y, lambda);
            double accuracy = validation.Count == 0 ? 0 : validation.Count(e => Predict(e) == e.Label) / (
                double)validation.Count;
            if (accuracy > bestAccuracy) (bestAccuracy, best, ChosenRegularization) = (accuracy, _weights, lambda);
        }
        _weights = best;
        return Epochs * Regularization.Length;
    }

    private int IndexOf(string label)
    {
        int i = _labels.ToList().IndexOf(label);
        return i >= 0 ? i : throw new InvalidDataException(
            $"Label \"{label}\" is not one of {string.Join(", ", _labels)}.");
    }

    /// <summary>Sparse tf-idf vector (sublinear term frequency, L2-normalised) of a text's known n-grams.</summary>
    private (int[] Index, float[] Value) Vectorize(string text)
    {
        var counts = new Dictionary<int, int>();
        foreach (var gram in Ngrams(text))
            if (_features.TryGetValue(gram, out int f)) counts[f] = counts.GetValueOrDefault(f) + 1;
        var index = counts.Keys.Order().ToArray();
        var value = index.Select(f => (float)((1 + Math.Log(counts[f])) * _idf[f])).ToArray();
        float norm = MathF.Sqrt(value.Sum(v => v * v));
        if (norm > 0) for (int i = 0; i < value.Length; i++) value[i] /= norm;
        return (index, value);
    }

    /// <summary>Full-batch gradient descent with Nesterov momentum on the mean cross-entropy plus λ/2·‖W‖² (bias not
    /// decayed): deterministic, and on a few thousand sparse rows a fraction of a second per epoch.</summary>
    private float[] Train((int[] Index, float[] Value)[] x, int[] y, float lambda)
    {
        int classes = _labels.Count, width = _features.Count + 1;
        var w = new float[classes * width];
        var velocity = new float[w.Length];
        var gradient = new float[w.Length];
        var scores = new float[classes];
        const float rate = 4f, momentum = 0.9f;
        var lookahead = new float[w.Length];
        for (int epoch = 0; epoch < Epochs; epoch++)
        {
            for (int i = 0; i < w.Length; i++) lookahead[i] = w[i] + momentum * velocity[i];
            Array.Clear(gradient);
            for (int n = 0; n < x.Length; n++)
            {
                Scores(lookahead, x[n], scores);
                Softmax(scores);
                scores[y[n]] -= 1f;
                for (int c = 0; c < classes; c++)
                {
                    float g = scores[c] / x.Length;
                    int row = c * width;
                    var (index, value) = x[n];
                    for (int k = 0; k < index.Length; k++) gradient[row + index[k]] += g * value[k];
                    gradient[row + width - 1] += g;
                }
            }
            for (int c = 0; c < classes; c++)
                for (int f = 0; f < width - 1; f++) gradient[c * width + f] += lambda * lookahead[c * width + f];
            for (int i = 0; i < w.Length; i++)
            {
                velocity[i] = momentum * velocity[i] - rate * gradient[i];
                w[i] += velocity[i];
            }
        }
        return w;
    }

    private void Scores(float[] w, (int[] Index, float[] Value) x, float[] scores)
    {
        int width = _features.Count + 1;
        for (int c = 0; c < scores.Length; c++)
        {
            int row = c * width;
            float s = w[row + width - 1];
            for (int k = 0; k < x.Index.Length; k++) s += w[row + x.Index[k]] * x.Value[k];
            scores[c] = s;
        }
    }

    private static void Softmax(float[] scores)
    {
        float max = scores.Max(), total = 0;
        for (int c = 0; c < scores.Length; c++) total += scores[c] = MathF.Exp(scores[c] - max);
        for (int c = 0; c < scores.Length; c++) scores[c] /= total;
    }

    /// <summary>Class probabilities of an example, in label order.</summary>
    public float[] Probabilities(LabeledExample example)
    {
        if (_weights.Length == 0) throw new InvalidOperationException("The bag-of-words classifier is not fitted yet.");
        var scores = new float[_labels.Count];
        Scores(_weights, Vectorize(TextOf(example)), scores);
        Softmax(scores);
        return scores;
    }

    public string Predict(LabeledExample example)
    {
        var p = Probabilities(example);
        return _labels[Array.IndexOf(p, p.Max())];
    }
}
