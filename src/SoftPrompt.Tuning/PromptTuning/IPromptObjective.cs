using SoftPrompt.Engine;

namespace SoftPrompt.Tuning.PromptTuning;

/// <summary>What prompt tuning needs of a task: the prompt it trains, a training loss, and a validation
/// score.</summary>
public interface IPromptObjective<TExample>
{
    PromptEmbedding? Prompt { get; }
    Tensor Loss(Tape tape, IReadOnlyList<TExample> batch);
    /// <summary>Higher is better: accuracy for classification, ROUGE-L for generation.</summary>
    double Score(IReadOnlyList<TExample> examples);
    string ScoreName { get; }

    /// <summary>What the last <see cref="Score"/> shows a person, where the score combines figures; null: the score
    /// under <see cref="ScoreName"/>.</summary>
    IReadOnlyDictionary<string, double>? FiguresOfLastScore => null;
}
