using SoftPrompt.Data.Tasks;
using SoftPrompt.Engine;
using SoftPrompt.Tuning.Heads;
using SoftPrompt.Tuning.PromptTuning;
using Xunit;

namespace SoftPrompt.Tests.Support;

/// <summary>The checks P-tuning v2's heads pass on every model family, causal or encoder.</summary>
public static class HeadChecks
{
    /// <summary>Each row of a padded batch gets the scores it gets alone, for the classifier's labels and the tagger's
    /// words.</summary>
    public static void BatchedRowsScoreAsAlone(HeadClassifier classifier, IReadOnlyList<LabeledExample> examples,
        TokenTagger tagger, IReadOnlyList<TaggedSentence> sentences)
    {
        var together = classifier.LabelScores(examples, batchSize: examples.Count);
        for (int e = 0; e < examples.Count; e++)
        {
            var alone = classifier.LabelScores([examples[e]], batchSize: 1)[0];
            for (int l = 0; l < alone.Length; l++) Assert.Equal(alone[l], together[e][l], 1e-4);
        }
        var tape = new Tape(recording: false);
        var batched = tagger.Logits(tape, sentences).Logits.ToArray();
        int offset = 0;
        foreach (var sentence in sentences)
        {
            var single = tagger.Logits(tape, [sentence]).Logits.ToArray();
            for (int i = 0; i < single.Length; i++) Assert.Equal(single[i], batched[offset + i], 1e-4);
            offset += single.Length;
        }
        Assert.Equal(batched.Length, offset);
        tape.Reset();
    }

    /// <summary>Tunes both with AdamW for <paramref name="steps"/> steps: the classifier's loss at least halves, the
    /// tagger's falls by a fifth, and the classifier then gets its training examples right.</summary>
    public static void TrainingLowersTheLoss(HeadClassifier classifier, IReadOnlyList<LabeledExample> examples,
        TokenTagger tagger, IReadOnlyList<TaggedSentence> sentences, int steps)
    {
        var tape = new Tape(recording: false);
        float classifierBefore = classifier.Loss(tape, examples)[0], taggerBefore = tagger.Loss(tape, sentences)[0];
        tape.Reset();
        var options = new PromptTuningOptions { Steps = steps, BatchSize = 4, Optimizer = "adamw", LearningRate = 1e-2f,
            EvaluateEvery = steps };
        new PromptTuner<LabeledExample>(classifier, options, trainable: classifier.Trainable).Run(examples, examples);
        new PromptTuner<TaggedSentence>(tagger, options, trainable: tagger.Trainable).Run(sentences, sentences);
        float classifierAfter = classifier.Loss(tape, examples)[0], taggerAfter = tagger.Loss(tape, sentences)[0];
        tape.Reset();
        Assert.True(classifierAfter < classifierBefore * 0.5f,
            $"classifier loss {classifierBefore:F3} → {classifierAfter:F3}");
        Assert.True(taggerAfter < taggerBefore * 0.8f, $"tagger loss {taggerBefore:F3} → {taggerAfter:F3}");
        Assert.Equal(1.0, classifier.Accuracy(examples));
        Assert.InRange(tagger.TokenAccuracy(sentences), 0.0, 1.0);
    }
}
