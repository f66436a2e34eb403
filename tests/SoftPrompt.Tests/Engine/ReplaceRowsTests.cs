using SoftPrompt.Engine;
using SoftPrompt.Engine.Autograd;
using SoftPrompt.Tests.Support;
using Xunit;

namespace SoftPrompt.Tests.Engine;

public class ReplaceRowsTests
{
    [Fact]
    public void Forward_replaces_exactly_the_given_rows()
    {
        var x = GradCheck.Random(1, 1f, 2, 4, 3); // 8 rows of 3
        var src = GradCheck.Random(2, 1f, 3, 3);
        int[] rows = { 5, 0, 6 };
        var y = Fn.ReplaceRows(new Tape(recording: false), x, rows, src);
        Assert.Equal(x.Shape, y.Shape);
        for (int r = 0; r < 8; r++)
        {
            int source = Array.IndexOf(rows, r);
            for (int e = 0; e < 3; e++)
                Assert.Equal(source >= 0 ? src[source * 3 + e] : x[r * 3 + e], y[r * 3 + e]);
        }
    }

    [Fact]
    public void Gradients_match_finite_differences()
    {
        var x = GradCheck.Random(3, 1f, 2, 4, 3);
        var src = GradCheck.Random(4, 1f, 3, 3);
        GradCheck.Check((tape, t) => Fn.ReplaceRows(tape, t[0], new[] { 5, 0, 6 }, t[1]), new[] { x, src });
    }

    [Fact]
    public void Replaced_rows_pass_no_gradient_to_x()
    {
        var x = GradCheck.Random(5, 1f, 4, 2);
        var src = GradCheck.Random(6, 1f, 2, 2);
        var tape = new Tape();
        var y = Fn.ReplaceRows(tape, x, new[] { 3, 1 }, src);
        tape.Backward(y, new float[] { 1, 2, 3, 4, 5, 6, 7, 8 });
        Assert.Equal(new float[] { 1, 2, 0, 0, 5, 6, 0, 0 }, x.Grad.ToArray());
        Assert.Equal(new float[] { 7, 8, 3, 4 }, src.Grad.ToArray());
    }

    [Fact]
    public void Frozen_x_gets_no_gradient_buffer()
    {
        var x = GradCheck.Random(7, 1f, 4, 2);
        x.RequiresGrad = false;
        var src = GradCheck.Random(8, 1f, 1, 2);
        var tape = new Tape();
        var y = Fn.ReplaceRows(tape, x, new[] { 2 }, src);
        tape.Backward(y, new float[8] { 1, 1, 1, 1, 9, 9, 1, 1 });
        Assert.False(x.HasGrad);
        Assert.Equal(new float[] { 9, 9 }, src.Grad.ToArray());
    }

    [Fact]
    public void Bad_indices_are_rejected()
    {
        var x = GradCheck.Random(9, 1f, 4, 2);
        var src = GradCheck.Random(10, 1f, 2, 2);
        Assert.Throws<ArgumentException>(() => Fn.ReplaceRows(new Tape(), x, new[] { 1, 1 }, src));
        Assert.Throws<ArgumentOutOfRangeException>(() => Fn.ReplaceRows(new Tape(), x, new[] { 1, 4 }, src));
        Assert.Throws<ArgumentException>(() => Fn.ReplaceRows(new Tape(), x, new[] { 1 }, src));
    }
}
