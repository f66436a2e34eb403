using SoftPrompt.Engine;
using SoftPrompt.Tests.Support;
using Xunit;

namespace SoftPrompt.Tests.Engine;

/// <summary>Activation gradients handed back mid-backward change nothing a training loop reads, and shrink the
/// step.</summary>
public class EagerGradientReleaseTests
{
    private static readonly SoftPrompt.Models.Formats.LoadedModel Loaded = MoodTask.Load();

    private static (float[] PromptGradient, float[] LayerGradient, float Loss, long PooledBytes) Step(bool eager)
        => MoodTask.TwoSteps(Loaded, new Tape { ReleaseGradientsEagerly = eager });

    [Fact]
    public void Parameter_gradients_are_bit_identical_and_the_pool_is_smaller()
    {
        var kept = Step(eager: false);
        var released = Step(eager: true);
        Assert.Equal(kept.PromptGradient, released.PromptGradient);
        Assert.Equal(kept.LayerGradient, released.LayerGradient);
        Assert.Contains(released.LayerGradient, g => g != 0);
        Assert.True(released.PooledBytes < kept.PooledBytes * 0.8,
            $"pool {released.PooledBytes:N0} B with eager release vs {kept.PooledBytes:N0} B without");
    }
}
