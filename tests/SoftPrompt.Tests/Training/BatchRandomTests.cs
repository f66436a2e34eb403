using SoftPrompt.Training;
using Xunit;

namespace SoftPrompt.Tests.Training;

public class BatchRandomTests
{
    private static int[] Draws(Random rng) => Enumerable.Range(0, 8).Select(_ => rng.Next(1_000_000)).ToArray();

    [Fact]
    public void Every_micro_batch_of_a_run_draws_its_own_stream_even_with_more_than_64_per_step()
    {
        const int perStep = 100;
        var seen = new HashSet<string>();
        for (int step = 0; step < 3; step++)
            for (int micro = 0; micro < perStep; micro++)
                Assert.True(seen.Add(string.Join(",", Draws(BatchRandom.For(seed: 7, step, micro, perStep)))),
                    $"step {step}, micro-batch {micro} repeats an earlier stream");
    }

    [Fact]
    public void The_same_micro_batch_draws_the_same_stream_again_so_a_resumed_run_sees_the_same_batches()
    {
        Assert.Equal(Draws(BatchRandom.For(3, 41, 2, 4)), Draws(BatchRandom.For(3, 41, 2, 4)));
        Assert.NotEqual(Draws(BatchRandom.For(3, 41, 2, 4)), Draws(BatchRandom.For(4, 41, 2, 4)));
    }

    [Fact]
    public void A_micro_batch_outside_the_step_is_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => BatchRandom.For(1, 0, micro: 4, microBatchesPerStep: 4));
    }
}
