namespace SoftPrompt.Training.Schedules;

public enum ScheduleShape { Constant, Linear, Cosine }

/// <summary>
/// Linear warm-up to <see cref="PeakRate"/> over <see cref="WarmupSteps"/>, then constant, or decaying linearly or
/// along a half cosine to <see cref="MinRatio"/>·peak at <see cref="TotalSteps"/>.
/// </summary>
public sealed record LearningRateSchedule(float PeakRate, int WarmupSteps, int TotalSteps, ScheduleShape Shape,
    float MinRatio = 0.1f)
{
    public static ScheduleShape ParseShape(string name) => name.ToLowerInvariant() switch
    {
        "constant" => ScheduleShape.Constant,
        "linear" => ScheduleShape.Linear,
        "cosine" => ScheduleShape.Cosine,
        _ => throw new ArgumentException($"Unknown learning-rate schedule '{name}': use constant, linear or cosine."),
    };

    /// <summary>The rate for the step with 0-based index <paramref name="step"/>.</summary>
    public float At(int step)
    {
        if (step < WarmupSteps) return PeakRate * (step + 1) / WarmupSteps;
        if (Shape == ScheduleShape.Constant) return PeakRate;
        int decaySteps = Math.Max(1, TotalSteps - WarmupSteps);
        double progress = Math.Clamp((double)(step - WarmupSteps) / decaySteps, 0, 1);
        double fraction = Shape == ScheduleShape.Linear ? 1 - progress : 0.5 * (1 + Math.Cos(Math.PI * progress));
        return (float)(PeakRate * (MinRatio + (1 - MinRatio) * fraction));
    }
}
