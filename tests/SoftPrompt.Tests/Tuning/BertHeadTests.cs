using SoftPrompt.Data.Tasks;
using SoftPrompt.Data.Tokenizers;
using SoftPrompt.Engine;
using SoftPrompt.Engine.Autograd;
using SoftPrompt.Models;
using SoftPrompt.Tests.Support;
using SoftPrompt.Tuning.Heads;
using SoftPrompt.Tuning.PrefixTuning;
using Xunit;

namespace SoftPrompt.Tests.Tuning;

/// <summary>P-tuning v2 on a bidirectional encoder: a deep prefix in every layer, a classification head on [CLS] and a
/// tagging head on each word's first sub-token, over "[CLS] text [SEP]" rows with their right padding masked.</summary>
public class BertHeadTests
{
    private static readonly ClassificationTask Task = MoodTask.Task();
    private static readonly LabeledExample[] Examples = [.. MoodTask.Examples(), MoodTask.Example("Sue fell down.",
        "sad")];

    private static readonly List<TaggedSentence> Sentences =
        RepositoryData.BrownPos.ReadSplit(RepositoryData.Find("tasks/brown-pos/validation.jsonl")).Take(4).ToList();

    // At BERT's N(0, 0.02) init, a random two-layer encoder's [CLS] state barely depends on the text, which leaves a
    // head nothing to learn from; a wider init stands in for what pretraining gives a real [CLS].
    private static readonly Lazy<(Bert Model, WordPieceTokenizer Tokenizer)> Frozen = new(() => TinyBert.Build(
        Examples.Select(Task.Render).Concat(Sentences.Select(s => string.Join(" ", s.Words))), vocabSize: 300,
            maxPositions: 128, std: 0.3f));

    private static Bert Model => Frozen.Value.Model;

    private static PrefixAdapter DeepPrefix(int seed) => new(Model.Config, PrefixTuningOptions.DeepPrompt(3,
        seed: seed));

    private static HeadClassifier Classifier(PrefixAdapter? adapter, LinearHead? head = null) =>
        new(Model, Frozen.Value.Tokenizer, Task, adapter, head ?? HeadClassifier.NewHead(Task, Model.Config, seed: 2));

    private static TokenTagger Tagger(PrefixAdapter? adapter, LinearHead? head = null) =>
        new(Model, Frozen.Value.Tokenizer, RepositoryData.BrownPos, adapter,
            head ?? TokenTagger.NewHead(RepositoryData.BrownPos, Model.Config, seed: 3));

    [Fact]
    public void One_step_changes_the_deep_prefix_and_the_heads_only()
    {
        var classifier = Classifier(DeepPrefix(seed: 1));
        Assert.Equal(3, classifier.Trainable.Count);
        TrainingSteps.OneStepChangesExactly(Model, classifier.Trainable, tape => classifier.Loss(tape, Examples));
        var tagger = Tagger(DeepPrefix(seed: 2));
        TrainingSteps.OneStepChangesExactly(Model, tagger.Trainable, tape => tagger.Loss(tape, Sentences));
    }

    [Fact]
    public void The_classification_head_reads_cls_of_the_wrapped_text()
    {
        var prefix = DeepPrefix(seed: 3);
        var classifier = Classifier(prefix);
        var tokenizer = Frozen.Value.Tokenizer;
        var scores = classifier.LabelScores(Examples[..1])[0];
        int[] ids = [tokenizer.ClsId!.Value, .. tokenizer.Encode(Task.Render(Examples[0])), tokenizer.SepId!.Value];
        var tape = new Tape(recording: false);
        var hidden = Model.Hidden(tape, new ForwardInput { Batch = 1, Length = ids.Length, TokenIds = ids,
            Hooks = prefix.Hooks([0]) });
        var cls = Fn.Slice(tape, hidden.Reshape(ids.Length, Model.Config.HiddenSize), 0, 0, 1);
        var expected = classifier.Head.Logits(tape, cls).ToArray();
        tape.Reset();
        for (int l = 0; l < expected.Length; l++) Assert.Equal(expected[l], scores[l], 5);
    }

    [Fact]
    public void A_padded_row_in_a_batch_scores_as_it_does_alone() =>
        HeadChecks.BatchedRowsScoreAsAlone(Classifier(DeepPrefix(seed: 4)), Examples, Tagger(DeepPrefix(seed: 5)),
            Sentences);

    [Fact]
    public void A_short_run_lowers_the_loss() =>
        HeadChecks.TrainingLowersTheLoss(Classifier(DeepPrefix(seed: 6)), Examples, Tagger(DeepPrefix(seed: 7)),
            Sentences, steps: 80);

    [Fact]
    public void Save_then_load_reproduces_the_predictions()
    {
        using var dir = new TempDirectory();
        var config = Model.Config;
        var classifier = Classifier(DeepPrefix(seed: 8));
        var scores = classifier.LabelScores(Examples);
        classifier.Save(dir.File("cls"), "bert-tiny");
        var reloaded = Classifier(PrefixAdapterFiles.Load(dir.File("cls"), config),
            HeadClassifier.LoadHead(dir.File("cls"), Task, config));
        Assert.Equal(scores, reloaded.LabelScores(Examples));

        var tagger = Tagger(DeepPrefix(seed: 9));
        var tags = tagger.Predict(Sentences);
        tagger.Save(dir.File("pos"), "bert-tiny");
        var reloadedTagger = Tagger(PrefixAdapterFiles.Load(dir.File("pos"), config),
            TokenTagger.LoadHead(dir.File("pos"), RepositoryData.BrownPos, config));
        Assert.Equal(tags, reloadedTagger.Predict(Sentences));
    }
}
