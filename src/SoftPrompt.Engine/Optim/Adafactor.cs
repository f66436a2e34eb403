using System.Numerics.Tensors;

namespace SoftPrompt.Engine.Optim;

/// <summary>
/// Adafactor (Shazeer &amp; Stern 2018), as Lester et al. trained prompts with it: no first moment; the second moment
/// of a matrix kept as its row and column means (v̂ = R·Cᵀ / mean(R)), of a vector in full; decay β₂ₜ = 1 − t^decay;
/// updates clipped to RMS ≤ <see cref="ClipThreshold"/>; optional parameter-scaled step (off, as Lester used it) and
/// decoupled weight decay.
/// </summary>
public sealed class Adafactor : IOptimizer
{
    private readonly Tensor[] _parameters;
    // matrices: row means (r), column means (c); vectors: full second moment in _rows
    private readonly float[][] _rows, _columns;
    private readonly float[][] _update;

    public Adafactor(IEnumerable<Tensor> parameters, float learningRate = 0.3f, float decayRate = -0.8f,
        float epsilon = 1e-30f,
        float clipThreshold = 1f, float weightDecay = 1e-5f, bool scaleParameter = false)
    {
        _parameters = parameters.Where(p => p.RequiresGrad).ToArray();
        _rows = _parameters.Select(p => new float[IsMatrix(p) ? p.Dim(0) : p.Length]).ToArray();
        _columns = _parameters.Select(p => IsMatrix(p) ? new float[p.Dim(1)] : Array.Empty<float>()).ToArray();
        _update = _parameters.Select(p => new float[p.Length]).ToArray();
        LearningRate = learningRate;
        DecayRate = decayRate; Epsilon = epsilon; ClipThreshold = clipThreshold; WeightDecay =
            weightDecay; ScaleParameter = scaleParameter;
    }

    public IReadOnlyList<Tensor> Parameters => _parameters;
    public float LearningRate { get; set; }
    public float DecayRate { get; }
    public float Epsilon { get; }
    public float ClipThreshold { get; }
    public float WeightDecay { get; }
    public bool ScaleParameter { get; }
    public int Step { get; private set; }

    private static bool IsMatrix(Tensor p) => p.Rank == 2;

    public void ZeroGrad()
    {
        foreach (var p in _parameters) p.ZeroGrad();
    }

    public void RestoreStep(int step) => Step = step;

    public IEnumerable<(string Name, float[] Values)> State()
    {
        for (int i = 0; i < _parameters.Length; i++)
        {
            string name = _parameters[i].Name ?? $"#{i}";
            yield return ($"row.{name}", _rows[i]);
            if (_columns[i].Length > 0) yield return ($"column.{name}", _columns[i]);
        }
    }

    public void Update()
    {
        Step++;
        float beta2 = 1f - MathF.Pow(Step, DecayRate);
        for (int i = 0; i < _parameters.Length; i++)
        {
            var p = _parameters[i];
            if (!p.HasGrad) continue;
            var g = p.Grad;
            var u = _update[i].AsSpan();
            if (IsMatrix(p)) FactoredUpdate(g, u, _rows[i], _columns[i], p.Dim(0), p.Dim(1), beta2);
            else
            {
                var v = _rows[i].AsSpan();
                for (int j = 0; j < g.Length; j++)
                {
                    v[j] = beta2 * v[j] + (1 - beta2) * (g[j] * g[j] + Epsilon);
                    u[j] = g[j] / MathF.Sqrt(v[j]);
                }
            }
            float rms = MathF.Sqrt(TensorPrimitives.SumOfSquares(u) / u.Length);
            float clip = Math.Max(1f, rms / ClipThreshold);
            var w = p.Span;
            float rate = LearningRate * (ScaleParameter ? Math.Max(1e-3f,
                MathF.Sqrt(TensorPrimitives.SumOfSquares(w) / w.Length)) : 1f);
            float decay = 1f - LearningRate * WeightDecay;
            for (int j = 0; j < w.Length; j++) w[j] = w[j] * decay - rate * u[j] / clip;
        }
    }

    // (r × c) gradient: R ← β R + (1−β) rowmean(g² + ε), C likewise by column; u = g / √(R_i C_j / mean(R)).
    private void FactoredUpdate(ReadOnlySpan<float> g, Span<float> u, float[] rows, float[] columns, int r, int c,
        float beta2)
    {
        var columnSums = new float[c];
        for (int i = 0; i < r; i++)
        {
            float rowSum = 0;
            for (int j = 0; j < c; j++)
            {
                float sq = g[i * c + j] * g[i * c + j] + Epsilon;
                rowSum += sq;
                columnSums[j] += sq;
            }
            rows[i] = beta2 * rows[i] + (1 - beta2) * rowSum / c;
        }
        for (int j = 0; j < c; j++) columns[j] = beta2 * columns[j] + (1 - beta2) * columnSums[j] / r;
        float meanRow = TensorPrimitives.Sum(rows) / r;
        for (int i = 0; i < r; i++)
            for (int j = 0; j < c; j++)
                u[i * c + j] = g[i * c + j] / MathF.Sqrt(rows[i] * columns[j] / meanRow);
    }
}
