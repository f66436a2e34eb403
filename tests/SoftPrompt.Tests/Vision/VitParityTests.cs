using SoftPrompt.Engine;
using SoftPrompt.Engine.Autograd;
using SoftPrompt.Engine.IO;
using SoftPrompt.Models;
using SoftPrompt.Models.Formats;
using SoftPrompt.Tests.Support;
using SoftPrompt.Tuning.VisualPrompts;
using Xunit;
using Xunit.Abstractions;

namespace SoftPrompt.Tests.Vision;

/// <summary>
/// A tiny two-channel ViT against plain torch (tools/make_vit_parity_fixture.py, float64 reference): logits, loss and
/// every weight gradient; then VPT-deep prompts in two of its three layers, model frozen: logits, loss and the prompts'
/// gradient.
/// </summary>
public class VitParityTests(ITestOutputHelper output)
{
    private const double Tolerance = 1e-4;
    private static readonly string Directory = Path.Combine(AppContext.BaseDirectory, "fixtures", "parity", "vit-tiny");

    [Fact]
    public void Parity_logits_loss_and_every_weight_gradient_match_pytorch()
    {
        var model = VitFiles.Load(Directory);
        var expected = SafeTensorsFile.Open(Path.Combine(Directory, "expected.safetensors"));
        var (pixels, labels) = Batch(expected);
        model.SetTrainable(_ => true);
        var tape = new Tape();
        var logits = model.Logits(tape, pixels, labels.Length);
        var loss = Fn.CrossEntropy(tape, logits, labels);
        Check("logits", logits.ReadOnlySpan, expected.ReadFloat32("logits"));
        Check("loss", loss.ReadOnlySpan, expected.ReadFloat32("loss"));
        tape.Backward(loss);
        Assert.Equal(56, model.Parameters.Count);
        Assert.Equal(model.Config.ParameterCount, model.ParameterCount);
        foreach (var p in model.Parameters) Check("grad " + p.Name, p.Tensor.Grad,
            expected.ReadFloat32("grad." + p.Name));
    }

    [Fact]
    public void Parity_vpt_deep_prompts_and_their_gradient_match_pytorch()
    {
        var model = VitFiles.Load(Directory);
        var expected = SafeTensorsFile.Open(Path.Combine(Directory, "expected.safetensors"));
        var (pixels, labels) = Batch(expected);
        var shape = expected.Info("vpt.prompts").Shape;
        var prompts = new VisualPrompts(tokens: shape[1], layers: shape[0], model.Config);
        expected.ReadFloat32("vpt.prompts").CopyTo(prompts.Prompts.Span);
        var tape = new Tape();
        var logits = model.Logits(tape, pixels, labels.Length, prompts);
        var loss = Fn.CrossEntropy(tape, logits, labels);
        Check("vpt logits", logits.ReadOnlySpan, expected.ReadFloat32("vpt.logits"));
        Check("vpt loss", loss.ReadOnlySpan, expected.ReadFloat32("vpt.loss"));
        tape.Backward(loss);
        Check("grad vpt.prompts", prompts.Prompts.Grad, expected.ReadFloat32("grad.vpt.prompts"));
        Assert.All(model.Parameters, p => Assert.False(p.Tensor.HasGrad,
            $"frozen {p.Name} received a gradient buffer"));
    }

    private static (float[] Pixels, int[] Labels) Batch(SafeTensorsFile expected) =>
        (expected.ReadFloat32("pixels"), expected.ReadFloat32("labels").Select(v => (int)v).ToArray());

    private void Check(string what, ReadOnlySpan<float> actual, ReadOnlySpan<float> expected)
    {
        // The key bias adds the same q·b to every score of a query, which softmax ignores: its exact gradient is zero,
        // and both sides hold only rounding noise, which a relative error would blow up.
        if (MaxAbs(expected) < 1e-9)
        {
            output.WriteLine($"{what}: zero in exact arithmetic; largest of ours {MaxAbs(actual):E2}");
            Assert.True(MaxAbs(actual) < 1e-5, $"{what} should be zero, but reaches {MaxAbs(actual):E2}");
            return;
        }
        double err = Compare.MaxRelativeError(actual, expected);
        output.WriteLine($"{what}: max relative error {err:E2}");
        Assert.True(err <= Tolerance, $"{what}: max relative error {err:E2} > {Tolerance:E0}");
    }

    private static double MaxAbs(ReadOnlySpan<float> values)
    {
        double max = 0;
        foreach (float v in values) max = Math.Max(max, Math.Abs(v));
        return max;
    }
}
