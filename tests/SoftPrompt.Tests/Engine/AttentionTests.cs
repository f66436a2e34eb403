using SoftPrompt.Engine;
using SoftPrompt.Engine.Autograd;
using SoftPrompt.Tests.Support;
using Xunit;

namespace SoftPrompt.Tests.Engine;

public class AttentionTests
{
    // Straightforward float64 attention: key j visible to query t iff not padded and (not causal or j <= S-T+t).
    private static double[] Reference(Tensor q, Tensor k, Tensor v, int heads, int kvHeads, bool causal,
        bool[]? padding)
    {
        int batch = q.Dim(0), T = q.Dim(1), S = k.Dim(1), d = q.Dim(2) / heads, group = heads / kvHeads;
        var output = new double[q.Length];
        var scores = new double[S];
        var visible = new bool[S];
        for (int b = 0; b < batch; b++)
        for (int h = 0; h < heads; h++)
        for (int t = 0; t < T; t++)
        {
            int kvh = h / group;
            double max = double.NegativeInfinity;
            for (int j = 0; j < S; j++)
            {
                visible[j] = (!causal || j <= S - T + t) && !(padding?[b * S + j] ?? false);
                if (!visible[j]) continue;
                double dot = 0;
                for (int e = 0; e < d; e++)
                    dot += (double)q[(b * T + t) * heads * d + h * d + e] * k[(b * S + j) * kvHeads * d + kvh * d + e];
                scores[j] = dot / Math.Sqrt(d);
                max = Math.Max(max, scores[j]);
            }
            if (double.IsNegativeInfinity(max)) continue;
            double sum = 0;
            for (int j = 0; j < S; j++) if (visible[j]) sum += Math.Exp(scores[j] - max);
            for (int j = 0; j < S; j++)
            {
                if (!visible[j]) continue;
                double p = Math.Exp(scores[j] - max) / sum;
                for (int e = 0; e < d; e++)
                    output[(b * T + t) * heads * d + h * d + e] += p * v[(b * S + j) * kvHeads * d + kvh * d + e];
            }
        }
        return output;
    }

    private static bool[] RandomPadding(int seed, int batch, int keys)
    {
        var rng = new Random(seed);
        var padding = new bool[batch * keys];
        for (int i = 0; i < padding.Length; i++) padding[i] = rng.NextDouble() < 0.3;
        return padding;
    }

    private static (Tensor Q, Tensor K, Tensor V) Inputs(int batch, int T, int S, int heads, int kvHeads, int d,
        int seed = 10)
        => (GradCheck.Random(seed, 1f, batch, T, heads * d),
            GradCheck.Random(seed + 1, 1f, batch, S, kvHeads * d),
            GradCheck.Random(seed + 2, 1f, batch, S, kvHeads * d));

    [Theory]
    [InlineData(2, 5, 5, 4, 4, 8, false, false)]  // plain multi-head, no mask
    [InlineData(2, 5, 5, 4, 4, 8, true, false)]   // causal
    [InlineData(2, 4, 7, 4, 2, 8, true, false)]   // GQA 4/2 with 3 extra (prefix) key rows
    [InlineData(1, 3, 6, 4, 1, 8, true, true)]    // multi-query with extra rows and padding
    [InlineData(3, 6, 6, 4, 2, 8, false, true)]   // padding, non-causal
    [InlineData(2, 70, 75, 2, 1, 8, true, true)]  // several query blocks, causal widths differ per block
    [InlineData(2, 40, 50, 4, 2, 32, true, false)] // large enough to run heads in parallel
    [InlineData(2, 40, 50, 4, 4, 32, false, true)]
    [InlineData(2, 40, 3, 4, 2, 8, false, false)] // fewer keys than queries, as over LLaMA-Adapter's prompt
    public void Forward_matches_reference(int batch, int T, int S, int heads, int kvHeads, int d, bool causal,
        bool padded)
    {
        var (q, k, v) = Inputs(batch, T, S, heads, kvHeads, d);
        var padding = padded ? RandomPadding(3, batch, S) : null;
        var tape = new Tape(recording: false);
        var y = Fn.Attention(tape, q, k, v, heads, kvHeads, causal, padding);
        Assert.Equal(new[] { batch, T, heads * d }, y.Shape);
        var expected = Reference(q, k, v, heads, kvHeads, causal, padding);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - y[i]) < 1e-5, $"element {i}: {y[i]} vs reference {expected[i]:G7}");
    }

    [Theory]
    [InlineData(2, 4, 4, 2, 2, 4, false, false)]
    [InlineData(2, 4, 4, 2, 2, 4, true, false)]
    [InlineData(2, 3, 5, 4, 2, 4, true, true)]   // GQA 4/2, extra rows, padding
    [InlineData(2, 3, 5, 4, 1, 4, false, true)]  // multi-query
    [InlineData(1, 35, 37, 2, 1, 4, true, false)] // two query blocks
    [InlineData(2, 6, 2, 4, 2, 4, false, false)] // fewer keys than queries, non-causal
    public void Gradients_match_finite_differences(int batch, int T, int S, int heads, int kvHeads, int d, bool causal,
        bool padded)
    {
        var (q, k, v) = Inputs(batch, T, S, heads, kvHeads, d, seed: 20);
        var padding = padded ? RandomPadding(5, batch, S) : null;
        GradCheck.Check((tape, t) => Fn.Attention(tape, t[0], t[1], t[2], heads, kvHeads, causal, padding),
            new[] { q, k, v });
    }

    [Fact]
    public void Gradients_with_parallel_heads_match_finite_differences()
    {
        var (q, k, v) = Inputs(2, 40, 50, 4, 2, 32, seed: 30);
        GradCheck.Check((tape, t) => Fn.Attention(tape, t[0], t[1], t[2], 4, 2, causal: true), new[] { q, k, v },
            maxProbesPerInput: 24);
    }

    [Fact]
    public void Fully_masked_query_outputs_zero_and_gets_no_gradient()
    {
        // Causal with 3 extra rows: query 0 sees keys 0..3 of 6; batch row 0 pads exactly those, so query 0 sees
        // nothing.
        int batch = 2, T = 3, S = 6, heads = 2, d = 4;
        var (q, k, v) = Inputs(batch, T, S, heads, heads, d, seed: 40);
        var padding = new bool[batch * S];
        for (int j = 0; j <= 3; j++) padding[j] = true;
        var tape = new Tape();
        var y = Fn.Attention(tape, q, k, v, heads, heads, causal: true, padding);
        for (int e = 0; e < heads * d; e++) Assert.Equal(0f, y[e]);
        Assert.Contains(y.ToArray().Skip(heads * d), value => value != 0f); // the other queries attend normally
        tape.Backward(y, Enumerable.Repeat(1f, y.Length).ToArray());
        for (int e = 0; e < heads * d; e++) Assert.Equal(0f, q.Grad[e]);
        Assert.Contains(q.Grad.ToArray().Skip(heads * d), g => g != 0f);
        // Padded keys never receive gradient
        for (int j = 0; j <= 3; j++)
            for (int e = 0; e < heads * d; e++)
            {
                Assert.Equal(0f, k.Grad[j * heads * d + e]);
                Assert.Equal(0f, v.Grad[j * heads * d + e]);
            }
        GradCheck.Check((tp, t) => Fn.Attention(tp, t[0], t[1], t[2], heads, heads, causal: true, padding),
            new[] { q, k, v });
    }

    [Fact]
    public void Fully_padded_batch_row_outputs_zero_without_causal_mask()
    {
        var (q, k, v) = Inputs(2, 2, 3, 1, 1, 4, seed: 50);
        var padding = new[] { true, true, true, false, true, false };
        var y = Fn.Attention(new Tape(recording: false), q, k, v, 1, 1, causal: false, padding);
        Assert.All(y.ToArray().Take(8), value => Assert.Equal(0f, value));
        var expected = Reference(q, k, v, 1, 1, false, padding);
        for (int i = 8; i < 16; i++) Assert.Equal(expected[i], y[i], 5);
    }

    [Fact]
    public void Decode_step_with_cache_equals_last_row_of_full_causal_attention()
    {
        int S = 9, heads = 4, kvHeads = 2, d = 8;
        var (q, k, v) = Inputs(2, S, S, heads, kvHeads, d, seed: 60);
        var tape = new Tape(recording: false);
        var full = Fn.Attention(tape, q, k, v, heads, kvHeads, causal: true);
        var lastQuery = Tensor.Parameter(new[] { 2, 1, heads * d }, trainable: false);
        for (int b = 0; b < 2; b++)
            q.ReadOnlySpan.Slice((b * S + S - 1) * heads * d, heads * d).CopyTo(lastQuery.Span.Slice(b * heads * d));
        var step = Fn.Attention(tape, lastQuery, k, v, heads, kvHeads, causal: true);
        for (int b = 0; b < 2; b++)
            for (int e = 0; e < heads * d; e++)
                Assert.Equal(full[(b * S + S - 1) * heads * d + e], step[b * heads * d + e], 5);
    }

    [Fact]
    public void Only_inputs_that_require_grad_receive_one()
    {
        var (q, k, v) = Inputs(1, 3, 4, 2, 1, 4, seed: 70);
        k.RequiresGrad = false;
        v.RequiresGrad = false;
        GradCheck.Check((tape, t) => Fn.Attention(tape, t[0], t[1], t[2], 2, 1, causal: true), new[] { q, k, v });
        Assert.True(q.HasGrad);
        Assert.False(k.HasGrad);
        Assert.False(v.HasGrad);

        q.RequiresGrad = false;
        v.RequiresGrad = true;
        GradCheck.Check((tape, t) => Fn.Attention(tape, t[0], t[1], t[2], 2, 1, causal: true), new[] { q, k, v });
        Assert.False(k.HasGrad);
        Assert.True(v.HasGrad);
    }

    [Fact]
    public void Mismatched_shapes_are_rejected()
    {
        var (q, k, v) = Inputs(1, 4, 3, 2, 1, 4);
        var ex = Assert.Throws<ArgumentException>(() => Fn.Attention(new Tape(), q, k, v, 2, 1, causal: true));
        Assert.Contains("fewer", ex.Message);
        var (q2, k2, v2) = Inputs(1, 2, 3, 4, 2, 4);
        Assert.Throws<ArgumentException>(() => Fn.Attention(new Tape(), q2, k2, v2, 4, 3, causal: false));
        Assert.Throws<ArgumentException>(() => Fn.Attention(new Tape(), q2, k2, v2, 4, 2, causal: false, new bool[5]));
    }

    [Fact]
    public void Gradients_with_a_score_bias_are_the_same_bits_whatever_the_thread_count()
    {
        // Large enough to run in chunks; the bias gradient is summed over them, so their count must not follow
        // --threads.
        int batch = 4, T = 48, S = 48, heads = 4, d = 32;
        (float[] Output, float[] DQ, float[] DBias) Run(int threads)
        {
            using var scope = Parallelism.OnThisThread(threads);
            var (q, k, v) = Inputs(batch, T, S, heads, heads, d, seed: 60);
            var bias = GradCheck.Random(63, 1f, heads, T, S);
            q.RequiresGrad = bias.RequiresGrad = true;
            var tape = new Tape();
            var y = Fn.Attention(tape, q, k, v, heads, heads, causal: false, scoreBias: bias, scoreScale: 1f);
            tape.Backward(y, GradCheck.Random(64, 1f, y.Shape).ToArray());
            return (y.ToArray(), q.Grad.ToArray(), bias.Grad.ToArray());
        }
        var one = Run(1);
        var three = Run(3);
        Assert.Equal(one.Output, three.Output);
        Assert.Equal(one.DQ, three.DQ);
        Assert.Equal(one.DBias, three.DBias);
        Assert.Contains(one.DBias, g => g != 0f);
    }
}
