using SoftPrompt.Engine;
using SoftPrompt.Engine.Autograd;
using SoftPrompt.Tests.Support;
using Xunit;

namespace SoftPrompt.Tests.Engine;

public class ActivationTests
{
    // float64 definitions, written from the formulas rather than from the kernels
    private static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));
    private static double Gelu(double x) =>
        0.5 * x * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));

    // erf by its Maclaurin series, exact enough in float64 for |x| ≤ 6/√2
    private static double Erf(double x)
    {
        double sum = 0, term = x;
        for (int n = 0; n < 200; n++)
        {
            sum += term / (2 * n + 1);
            term *= -x * x / (n + 1);
        }
        return 2 / Math.Sqrt(Math.PI) * sum;
    }

    public static TheoryData<string> Names => new() { "gelu", "gelu_erf", "silu", "relu", "sigmoid", "tanh" };

    private static Tensor Apply(string name, Tape tape, Tensor x) => name switch
    {
        "gelu" => Fn.Gelu(tape, x),
        "gelu_erf" => Fn.GeluErf(tape, x),
        "silu" => Fn.Silu(tape, x),
        "relu" => Fn.Relu(tape, x),
        "sigmoid" => Fn.Sigmoid(tape, x),
        "tanh" => Fn.Tanh(tape, x),
        _ => throw new ArgumentException(name),
    };

    private static double Reference(string name, double x) => name switch
    {
        "gelu" => Gelu(x),
        "gelu_erf" => 0.5 * x * (1 + Erf(x / Math.Sqrt(2))),
        "silu" => x * Sigmoid(x),
        "relu" => Math.Max(0, x),
        "sigmoid" => Sigmoid(x),
        "tanh" => Math.Tanh(x),
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [MemberData(nameof(Names))]
    public void Forward_matches_float64_definition(string name)
    {
        // 2,500 values cross the 1,024-element chunk boundary of the kernels
        var x = GradCheck.Random(11, 6f, 50, 50);
        var y = Apply(name, new Tape(recording: false), x);
        for (int i = 0; i < x.Length; i++)
            Assert.Equal(Reference(name, x[i]), y[i], 5e-6 * Math.Max(1, Math.Abs(Reference(name, x[i]))));
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Gradient_matches_finite_differences(string name)
    {
        var x = GradCheck.Random(12, 2f, 3, 7);
        if (name == "relu") // keep away from the kink, where finite differences are meaningless
            for (int i = 0; i < x.Length; i++) if (Math.Abs(x[i]) < 0.05f) x[i] = 0.3f;
        GradCheck.Check((tape, t) => Apply(name, tape, t[0]), new[] { x });
    }

    [Fact]
    public void SwiGlu_is_silu_of_gate_times_up()
    {
        var gate = GradCheck.Random(13, 3f, 4, 9);
        var up = GradCheck.Random(14, 3f, 4, 9);
        var y = Fn.SwiGlu(new Tape(recording: false), gate, up);
        for (int i = 0; i < y.Length; i++)
            Assert.Equal(gate[i] * Sigmoid(gate[i]) * up[i], y[i], 1e-5);
    }

    [Fact]
    public void SwiGlu_gradients_match_finite_differences()
    {
        var gate = GradCheck.Random(15, 2f, 3, 5);
        var up = GradCheck.Random(16, 2f, 3, 5);
        GradCheck.Check((tape, t) => Fn.SwiGlu(tape, t[0], t[1]), new[] { gate, up });
    }

    [Fact]
    public void Arithmetic_gradients_match_finite_differences()
    {
        var a = GradCheck.Random(17, 1f, 2, 3, 4);
        var b = GradCheck.Random(18, 1f, 2, 3, 4);
        GradCheck.Check((tape, t) => Fn.Add(tape, Fn.Mul(tape, t[0], t[1]), Fn.Scale(tape, t[0], -1.5f)),
            new[] { a, b });
    }

    [Fact]
    public void Column_scaling_gradients_match_finite_differences_and_equal_a_broadcast_product()
    {
        var x = GradCheck.Random(20, 1f, 2, 3, 4);
        var s = GradCheck.Random(21, 1f, 4);
        GradCheck.Check((tape, t) => Fn.ScaleColumns(tape, t[0], t[1]), new[] { x, s });
        var y = Fn.ScaleColumns(new Tape(recording: false), x, s);
        for (int i = 0; i < x.Length; i++) Assert.Equal(x[i] * s[i % 4], y[i]);
    }

    [Fact]
    public void Frozen_operand_gets_no_gradient()
    {
        var a = GradCheck.Random(19, 1f, 6);
        var b = GradCheck.Random(20, 1f, 6);
        b.RequiresGrad = false;
        var tape = new Tape();
        tape.Backward(Fn.Sum(tape, Fn.Mul(tape, a, b)));
        Assert.False(b.HasGrad);
        Assert.Equal(b.ToArray(), a.Grad.ToArray());
    }

    [Fact]
    public void Shape_mismatch_names_both_shapes()
    {
        var a = GradCheck.Random(21, 1f, 2, 3);
        var b = GradCheck.Random(22, 1f, 3, 2);
        var e = Assert.Throws<ArgumentException>(() => Fn.Add(new Tape(), a, b));
        Assert.Contains("[2, 3]", e.Message);
        Assert.Contains("[3, 2]", e.Message);
    }
}
