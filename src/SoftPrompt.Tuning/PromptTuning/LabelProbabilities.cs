namespace SoftPrompt.Tuning.PromptTuning;

public static class LabelProbabilities
{
    /// <summary>Label log-probabilities (as scored by a classifier) normalised over the task's labels.</summary>
    public static double[] FromLogProbabilities(double[] logProbabilities)
    {
        double max = logProbabilities.Max();
        var e = logProbabilities.Select(x => Math.Exp(x - max)).ToArray();
        double sum = e.Sum();
        return e.Select(x => x / sum).ToArray();
    }
}
