using SoftPrompt.Engine;
using SoftPrompt.Engine.Autograd;
using SoftPrompt.Tests.Support;
using Xunit;

namespace SoftPrompt.Tests.Engine;

public class ShapeOpTests
{
    [Fact]
    public void Embedding_gathers_rows_and_accumulates_repeated_ids()
    {
        var table = GradCheck.Random(1, 1f, 5, 3);
        int[] ids = { 4, 0, 4, 2 };
        var tape = new Tape();
        var y = Fn.Embedding(tape, table, ids, 2, 2);
        Assert.Equal(new[] { 2, 2, 3 }, y.Shape);
        for (int i = 0; i < ids.Length; i++)
            for (int e = 0; e < 3; e++) Assert.Equal(table[ids[i] * 3 + e], y[i * 3 + e]);
        tape.Backward(Fn.Sum(tape, y));
        Assert.Equal(new float[] { 1, 1, 1, 0, 0, 0, 1, 1, 1, 0, 0, 0, 2, 2, 2 }, table.Grad.ToArray());
    }

    [Fact]
    public void Embedding_gradient_matches_finite_differences()
    {
        var table = GradCheck.Random(2, 1f, 6, 4);
        GradCheck.Check((tape, t) => Fn.Embedding(tape, t[0], new[] { 1, 5, 1, 0, 3 }), new[] { table });
    }

    [Fact]
    public void Embedding_id_out_of_range_names_id_and_position()
    {
        var table = GradCheck.Random(3, 1f, 6, 4);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Fn.Embedding(new Tape(), table, new[] { 1, 6 }));
        Assert.Contains("id 6 at position 1", e.Message);
    }

    [Fact]
    public void Concat_then_slice_recovers_each_part_on_every_axis()
    {
        for (int axis = 0; axis < 3; axis++)
        {
            var a = GradCheck.Random(4, 1f, 2, 3, 4);
            var shapeB = new[] { 2, 3, 4 };
            shapeB[axis] = 5;
            var b = GradCheck.Random(5, 1f, shapeB);
            var tape = new Tape(recording: false);
            var joined = Fn.Concat(tape, axis, a, b);
            Assert.Equal(a.Shape[axis] + 5, joined.Shape[axis]);
            var parts = Fn.Split(tape, joined, axis, a.Shape[axis], 5);
            Assert.Equal(a.ToArray(), parts[0].ToArray());
            Assert.Equal(b.ToArray(), parts[1].ToArray());
        }
    }

    [Fact]
    public void Concat_along_middle_axis_interleaves_rows()
    {
        var a = Tensor.FromArray(new float[] { 1, 2, 3, 4 }, new[] { 2, 1, 2 });
        var b = Tensor.FromArray(new float[] { 5, 6, 7, 8 }, new[] { 2, 1, 2 });
        var y = Fn.Concat(new Tape(recording: false), 1, a, b);
        Assert.Equal(new float[] { 1, 2, 5, 6, 3, 4, 7, 8 }, y.ToArray());
    }

    [Fact]
    public void Concat_and_slice_gradients_match_finite_differences()
    {
        var a = GradCheck.Random(6, 1f, 2, 2, 3);
        var b = GradCheck.Random(7, 1f, 2, 4, 3);
        GradCheck.Check((tape, t) => Fn.Slice(tape, Fn.Concat(tape, 1, t[0], t[1], t[0]), 1, 1, 6), new[] { a, b });
    }

    [Fact]
    public void Slice_out_of_range_and_bad_split_are_rejected()
    {
        var x = GradCheck.Random(8, 1f, 2, 5);
        Assert.Throws<ArgumentOutOfRangeException>(() => Fn.Slice(new Tape(), x, 1, 3, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => Fn.Slice(new Tape(), x, 2, 0, 1));
        Assert.Throws<ArgumentException>(() => Fn.Split(new Tape(), x, -1, 2, 2));
        Assert.Throws<ArgumentException>(() => Fn.Concat(new Tape(), 0, x, GradCheck.Random(9, 1f, 2, 4)));
    }
}
