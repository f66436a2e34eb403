namespace SoftPrompt.Models.Generation;

/// <summary>Turns one row of logits into a token id: greedy, or temperature sampling restricted by top-k /
/// top-p.</summary>
public sealed class TokenSampler
{
    private readonly GenerationOptions _options;
    private readonly Random _random;
    private int[] _order = Array.Empty<int>();
    private float[] _probabilities = Array.Empty<float>();

    public TokenSampler(GenerationOptions options)
    {
        options.Validate();
        _options = options;
        _random = new Random(options.Seed);
    }

    public int Next(ReadOnlySpan<float> logits)
    {
        if (_options.Temperature == 0 || _options.TopK == 1) return ArgMax(logits);
        int v = logits.Length;
        if (_probabilities.Length != v) { _probabilities = new float[v]; _order = new int[v]; }

        // Softmax at the given temperature, then keep the head of the distribution that top-k / top-p allow.
        float max = float.NegativeInfinity;
        foreach (float x in logits) max = Math.Max(max, x);
        double total = 0;
        for (int i = 0; i < v; i++) total += _probabilities[i] = MathF.Exp((logits[i] - max) / _options.Temperature);
        for (int i = 0; i < v; i++) { _probabilities[i] = (float)(_probabilities[i] / total); _order[i] = i; }

        int keep = v;
        if (_options.TopK > 0 || _options.TopP < 1)
        {
            var probabilities = _probabilities;
            Array.Sort(_order, (a, b) => probabilities[b].CompareTo(probabilities[a]));
            if (_options.TopK > 0) keep = Math.Min(keep, _options.TopK);
            if (_options.TopP < 1)
            {
                double cumulative = 0;
                for (int i = 0; i < keep; i++)
                {
                    cumulative += _probabilities[_order[i]];
                    if (cumulative >= _options.TopP) { keep = i + 1; break; }
                }
            }
        }

        double mass = 0;
        for (int i = 0; i < keep; i++) mass += _probabilities[_order[i]];
        double target = _random.NextDouble() * mass;
        for (int i = 0; i < keep; i++)
        {
            target -= _probabilities[_order[i]];
            if (target <= 0) return _order[i];
        }
        return _order[keep - 1];
    }

    public static int ArgMax(ReadOnlySpan<float> values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++)
            if (values[i] > values[best]) best = i;
        return best;
    }
}
