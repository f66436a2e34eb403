namespace SoftPrompt.Tuning.PromptTuning;

/// <summary>Which validation state a classification prompt keeps.</summary>
public enum KeptStateCriterion
{
    /// <summary>The best accuracy.</summary>
    Accuracy,

    /// <summary>The best macro-F1: on an imbalanced task the best-accuracy state can be one that answers the majority
    /// label every time and reads nothing.</summary>
    MacroF1,

    /// <summary>The best macro-F1 among the states whose accuracy is at least
    /// <see cref="KeptStates.MajorityMargin"/> over always answering the validation split's most common label; while
    /// no state is, the best accuracy. Each single criterion gives up the other figure (by accuracy the kept state
    /// leans to the majority label, by macro-F1 it can be one that swung to the minority); this asks for
    /// both.</summary>
    MacroF1AboveMajority,
}

public static class KeptStates
{
    /// <summary>How far over the majority rate a state's accuracy must be for
    /// <see cref="KeptStateCriterion.MacroF1AboveMajority"/> to rank it by macro-F1: 3 points.</summary>
    public const double MajorityMargin = 0.03;

    public static KeptStateCriterion Parse(string name) => name.Trim().ToLowerInvariant() switch
    {
        "accuracy" => KeptStateCriterion.Accuracy,
        "macro-f1" or "macro_f1" => KeptStateCriterion.MacroF1,
        "macro-f1-above-majority" or "macro_f1_above_majority" => KeptStateCriterion.MacroF1AboveMajority,
        _ => throw new Engine.OptionException("KeepBy",
            $"is accuracy, macro-f1 or macro-f1-above-majority, not '{name}'."),
    };

    /// <summary>The name of the validation score in reports and on the progress line.</summary>
    public static string ScoreName(KeptStateCriterion criterion) => criterion switch
    {
        KeptStateCriterion.MacroF1 => "macro_f1",
        // a state past the bar scores 1 + macro-F1, so it outranks every state under it (which score accuracy)
        KeptStateCriterion.MacroF1AboveMajority => "macro_f1_above_majority",
        _ => "accuracy",
    };

    /// <summary>The score a state with these figures gets on <paramref name="gold"/> labels: higher is kept.</summary>
    public static double Score(KeptStateCriterion criterion, double accuracy, double macroF1,
        IReadOnlyList<string> gold) => criterion switch
    {
        KeptStateCriterion.MacroF1 => macroF1,
        KeptStateCriterion.MacroF1AboveMajority => accuracy >= MajorityRate(gold) + MajorityMargin - 1e-9
            ? 1 + macroF1
            : accuracy,
        _ => accuracy,
    };

    /// <summary>The accuracy of always answering the most common of <paramref name="gold"/>.</summary>
    public static double MajorityRate(IReadOnlyList<string> gold) =>
        gold.Count == 0 ? 0 : gold.GroupBy(label => label).Max(g => g.Count()) / (double)gold.Count;
}
