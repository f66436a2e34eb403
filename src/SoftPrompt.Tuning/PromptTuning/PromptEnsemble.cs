using SoftPrompt.Data.Tasks;
using SoftPrompt.Data.Tokenizers;
using SoftPrompt.Models;

namespace SoftPrompt.Tuning.PromptTuning;

/// <summary>
/// Several soft prompts for one task scored in the same batches (Lester et al.'s prompt ensembling): every row is one
/// (example, member, label) with its member's prompt, so N members cost one pass over N× the rows rather than N model
/// loads. Combined by majority vote (ties to the higher mean probability) or by mean label probability.
/// </summary>
public sealed class PromptEnsemble
{
    private readonly CausalLanguageModel _model;
    private readonly PromptClassifier[] _members;

    public PromptEnsemble(CausalLanguageModel model, ITokenizer tokenizer, ClassificationTask task,
        IReadOnlyList<PromptEmbedding> members)
    {
        if (members.Count == 0) throw new ArgumentException("An ensemble needs at least one prompt.");
        _model = model;
        Task = task;
        _members = members.Select(p => new PromptClassifier(model, tokenizer, task, p)).ToArray();
    }

    public ClassificationTask Task { get; }
    public int Members => _members.Length;

    /// <summary>Log-probability of each label: [example][member][label].</summary>
    public double[][][] Scores(IReadOnlyList<LabeledExample> examples, int rowsPerBatch = 16)
    {
        var requests = examples.SelectMany(e => _members.Select(m => (m, e))).ToList();
        var flat = MixedScoring.LabelScores(_model, requests, rowsPerBatch);
        return examples.Select((_, e) => _members.Select((_, m) => flat[e * _members.Length + m]).ToArray()).ToArray();
    }

    /// <summary>Per member, and for majority vote and mean probability: the predicted label of each example.</summary>
    public (string[][] Members, string[] MajorityVote, string[] MeanProbability) Predict(
        IReadOnlyList<LabeledExample> examples)
    {
        var scores = Scores(examples);
        var labels = Task.Labels;
        var members = Enumerable.Range(0, _members.Length)
            .Select(m => scores.Select(s => labels[ArgMax(s[m])]).ToArray()).ToArray();
        var vote = new string[examples.Count];
        var mean = new string[examples.Count];
        for (int e = 0; e < examples.Count; e++)
        {
            var meanProbability = new double[labels.Count];
            foreach (var memberScores in scores[e])
            {
                var p = LabelProbabilities.FromLogProbabilities(memberScores);
                for (int l = 0; l < labels.Count; l++) meanProbability[l] += p[l] / _members.Length;
            }
            mean[e] = labels[ArgMax(meanProbability)];
            var votes = new double[labels.Count];
            for (int m = 0; m < _members.Length; m++) votes[labels.ToList().IndexOf(members[m][e])] += 1;
            // ties between vote counts go to the label with the higher mean probability
            for (int l = 0; l < labels.Count; l++) votes[l] += meanProbability[l] * 1e-3;
            vote[e] = labels[ArgMax(votes)];
        }
        return (members, vote, mean);
    }

    private static int ArgMax(double[] values) => Array.IndexOf(values, values.Max());
}
