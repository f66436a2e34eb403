using System.Text.Json.Nodes;
using SoftPrompt.Engine;
using SoftPrompt.Models;
using SoftPrompt.Models.Formats;
using SoftPrompt.Tests.Support;
using Xunit;

namespace SoftPrompt.Tests.Models;

/// <summary>
/// GPT-2's activation_function decides the MLP's GELU: "gelu_new" is the tanh approximation GPT-2 was trained with,
/// HF's "gelu" the exact erf form. The same weights under each config are checked against a one-token forward pass
/// written out in float64, where attention over a single key is just its value.
/// </summary>
public class Gpt2ActivationTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData("gelu_new")]
    [InlineData("gelu")]
    public void The_config_s_activation_function_picks_the_gelu(string activation)
    {
        var model = LoadWithActivation(activation);
        Assert.Equal(activation, model.Config.HiddenAct);
        const int token = 7;
        var logits = OneTokenLogits(model, token);
        var expected = ByHandLogits(model, token, activation == "gelu" ? ExactGelu : TanhGelu);
        var other = ByHandLogits(model, token, activation == "gelu" ? TanhGelu : ExactGelu);
        double error = logits.Select((x, i) => Math.Abs(x - expected[i])).Max();
        double gap = expected.Select((x, i) => Math.Abs(x - other[i])).Max();
        Assert.True(error < 1e-5, $"max error {error} against the {activation} reference");
        // The check would be blind if the two forms gave the same logits on this model.
        Assert.True(gap > 10 * error && gap > 1e-5, $"the two GELU forms differ by only {gap} (error {error})");
    }

    private TransformerModel LoadWithActivation(string activation)
    {
        string fixture = Path.Combine(AppContext.BaseDirectory, "fixtures", "parity", "gpt2-tiny");
        string dir = Path.Combine(_dir.Path, activation);
        Directory.CreateDirectory(dir);
        foreach (var file in Directory.GetFiles(fixture)) File.Copy(file, Path.Combine(dir, Path.GetFileName(file)));
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "config.json")))!.AsObject();
        config["activation_function"] = activation;
        File.WriteAllText(Path.Combine(dir, "config.json"), config.ToJsonString());
        return ModelLoader.Load(dir).Transformer;
    }

    private static float[] OneTokenLogits(TransformerModel model, int token)
    {
        var tape = new Tape(recording: false);
        var logits = model.Forward(tape, new ForwardInput { Batch = 1, Length = 1, TokenIds = [token] }).ToArray();
        tape.Reset();
        return logits;
    }

    private static double TanhGelu(double x) =>
        0.5 * x * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));

    private static double ExactGelu(double x) => 0.5 * x * (1 + Erf(x / Math.Sqrt(2)));

    // The Maclaurin series, accurate to ~1e-9 up to |x| = 4 (cancellation grows past that); beyond, erf is ±1 within
    // 2e-8, far below the test's tolerance.
    private static double Erf(double x)
    {
        if (Math.Abs(x) > 4) return Math.Sign(x);
        double sum = 0, term = x;
        for (int n = 0; n < 200; n++)
        {
            sum += term / (2 * n + 1);
            term *= -x * x / (n + 1);
        }
        return 2 / Math.Sqrt(Math.PI) * sum;
    }

    private static double[] ByHandLogits(TransformerModel model, int token, Func<double, double> gelu)
    {
        var c = model.Config;
        int d = c.HiddenSize;
        double[] W(string name) => model.Parameter(name).ToArray().Select(v => (double)v).ToArray();
        double[] Linear(string prefix, double[] x)
        {
            var w = W(prefix + ".weight");
            var b = W(prefix + ".bias");
            return b.Select((bias, o) => bias + x.Select((xi, i) => w[o * x.Length + i] * xi).Sum()).ToArray();
        }
        double[] Norm(string prefix, double[] x)
        {
            double mean = x.Average(), variance = x.Select(v => (v - mean) * (v - mean)).Average();
            var g = W(prefix + ".weight");
            var b = W(prefix + ".bias");
            return x.Select((v, i) => (v - mean) / Math.Sqrt(variance + c.NormEps) * g[i] + b[i]).ToArray();
        }
        double[] Add(double[] x, double[] y) => x.Select((v, i) => v + y[i]).ToArray();

        var wte = W("transformer.wte.weight");
        var h = Add(wte[(token * d)..((token + 1) * d)], W("transformer.wpe.weight")[..d]);
        for (int layer = 0; layer < c.NumLayers; layer++)
        {
            string p = $"transformer.h.{layer}.";
            var value = Linear(p + "attn.c_attn", Norm(p + "ln_1", h))[(2 * d)..];
            h = Add(h, Linear(p + "attn.c_proj", value));
            var m = Linear(p + "mlp.c_fc", Norm(p + "ln_2", h)).Select(gelu).ToArray();
            h = Add(h, Linear(p + "mlp.c_proj", m));
        }
        h = Norm("transformer.ln_f", h);
        return Enumerable.Range(0, c.VocabSize).Select(v => h.Select((x, i) => wte[v * d + i] * x).Sum()).ToArray();
    }
}
