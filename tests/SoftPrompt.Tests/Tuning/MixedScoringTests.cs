using SoftPrompt.Data.Tasks;
using SoftPrompt.Engine;
using SoftPrompt.Engine.Autograd;
using SoftPrompt.Engine.Ops;
using SoftPrompt.Models;
using SoftPrompt.Models.Formats;
using SoftPrompt.Tests.Support;
using SoftPrompt.Tuning.PromptTuning;
using Xunit;

namespace SoftPrompt.Tests.Tuning;

public class MixedScoringTests
{
    private static readonly LoadedModel Loaded = ModelLoader.Load(SharedModels.TinyStoriesPath);

    /// <summary>log Pr(label | P, x) from one unbatched forward pass over [P; x; label], no cache.</summary>
    private static double Alone(PromptClassifier classifier, LabeledExample example, string label)
    {
        var model = Loaded.Model;
        var input = classifier.InputTokens(example);
        var target = classifier.LabelTokens[label];
        int[] ids = [.. input, .. target];
        var tape = new Tape(recording: false);
        var embeddings = Fn.Embedding(tape, model.TokenEmbedding, ids, 1, ids.Length);
        int p = classifier.Prompt?.Length ?? 0;
        if (classifier.Prompt is not null) embeddings = classifier.Prompt.Prepend(tape, embeddings);
        return ByHand.TargetLogProbability(model, embeddings, p + input.Length - 1, target);
    }

    [Fact]
    public void Shared_prefix_scores_of_mixed_tasks_with_multi_token_labels_equal_each_label_scored_alone()
    {
        var tasks = new[]
        {
            new ClassificationTask("animal", "{text}\nThe animal is a", new Dictionary<string,
                string> { ["dog"] = " dog", ["bird"] = " little blue bird", ["cat"] = " big cat" }),
            new ClassificationTask("mood", "Story: {text}\nThe mood was", new Dictionary<string,
                string> { ["happy"] = " happy", ["sad"] = " very sad" }),
        };
        var classifiers = new List<PromptClassifier>();
        for (int i = 0; i < 3; i++)
        {
            PromptEmbedding? prompt = null;
            if (i > 0)
            {
                prompt = new PromptEmbedding(3 * i + 1, Loaded.Model.Config.HiddenSize);
                prompt.InitializeUniform(40 + i, range: 0.3f);
            }
            classifiers.Add(new PromptClassifier(Loaded.Model, Loaded.Tokenizer!, tasks[i % 2], prompt));
        }
        var texts = new[] { "A puppy ran.", "The kitten slept on the warm mat all afternoon.",
            "It sang in the tall old tree by the river bank." };
        var requests = (from c in classifiers from t in texts select (c, new LabeledExample(new Dictionary<string,
            string> { ["text"] = t }, c.Task.Labels[0]))).ToList();
        Assert.Contains(requests, r => r.c.LabelTokens.Values.Any(ids => ids.Length >= 3));

        // several prefix and label chunks
        var scores = MixedScoring.LabelScores(Loaded.Model, requests, rowsPerBatch: 4);
        for (int q = 0; q < requests.Count; q++)
        {
            var (classifier, example) = requests[q];
            for (int l = 0; l < classifier.Task.Labels.Count; l++)
                Assert.Equal(Alone(classifier, example, classifier.Task.Labels[l]), scores[q][l], 1e-4);
        }
    }
}
