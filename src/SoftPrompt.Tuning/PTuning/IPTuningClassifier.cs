using SoftPrompt.Data.Tasks;
using SoftPrompt.Tuning.PromptTuning;

namespace SoftPrompt.Tuning.PTuning;

/// <summary>A P-tuning v1 classifier as the comparison trains and keeps it, whatever reads the label: the causal
/// verbalizer (<see cref="PTuningClassifier"/>) or a BERT's MLM head at the [MASK]
/// (<see cref="Cloze.ClozePTuningClassifier"/>).</summary>
public interface IPTuningClassifier : IPromptObjective<LabeledExample>, ILabelPredictor
{
    PTuningTemplate Template { get; }
    PromptEncoder Encoder { get; }
    /// <summary>Values a task keeps: the pseudo-token vectors the encoder makes.</summary>
    long StoredValueCount { get; }
    void Save(string directory, string baseModel);
}
