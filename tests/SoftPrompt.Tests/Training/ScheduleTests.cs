using SoftPrompt.Training.Schedules;
using Xunit;

namespace SoftPrompt.Tests.Training;

public class ScheduleTests
{
    [Fact]
    public void Warmup_rises_linearly_to_the_peak()
    {
        var s = new LearningRateSchedule(1f, WarmupSteps: 4, TotalSteps: 20, ScheduleShape.Cosine);
        Assert.Equal(new[] { 0.25f, 0.5f, 0.75f, 1f }, Enumerable.Range(0, 4).Select(s.At).ToArray());
    }

    [Fact]
    public void Cosine_decays_to_the_floor_through_the_midpoint()
    {
        var s = new LearningRateSchedule(2f, WarmupSteps: 0, TotalSteps: 100, ScheduleShape.Cosine, MinRatio: 0.1f);
        Assert.Equal(2f, s.At(0), 5);
        Assert.Equal(2f * (0.1 + 0.9 * 0.5), s.At(50), 5); // cos(π/2) = 0: halfway between peak and floor
        Assert.Equal(0.2f, s.At(100), 5);
        Assert.Equal(0.2f, s.At(500), 5);
    }

    [Fact]
    public void Linear_and_constant_shapes()
    {
        var linear = new LearningRateSchedule(1f, 10, 110, ScheduleShape.Linear, MinRatio: 0f);
        Assert.Equal(0.75f, linear.At(35), 5);
        var constant = new LearningRateSchedule(0.3f, 0, 100, ScheduleShape.Constant);
        Assert.Equal(0.3f, constant.At(99));
        Assert.Throws<ArgumentException>(() => LearningRateSchedule.ParseShape("exponential"));
    }
}
