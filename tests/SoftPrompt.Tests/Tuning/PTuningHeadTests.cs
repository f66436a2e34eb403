using SoftPrompt.Data.Tasks;
using SoftPrompt.Engine;
using SoftPrompt.Engine.IO;
using SoftPrompt.Models.Formats;
using SoftPrompt.Tests.Support;
using SoftPrompt.Tuning.Heads;
using SoftPrompt.Tuning.PrefixTuning;
using SoftPrompt.Tuning.PromptTuning;
using Xunit;

namespace SoftPrompt.Tests.Tuning;

/// <summary>P-tuning v2's heads: a classification head on the last real token and a per-token tagging head, each
/// trained with a deep prefix.</summary>
public class PTuningHeadTests
{
    private static readonly LoadedModel Loaded = MoodTask.Load();
    private static readonly ClassificationTask Task = MoodTask.Task();
    private static readonly LabeledExample[] Examples = [.. MoodTask.Examples(), MoodTask.Example("Sue fell down.",
        "sad")];

    private static readonly List<TaggedSentence> Sentences =
        RepositoryData.BrownPos.ReadSplit(RepositoryData.Find("tasks/brown-pos/validation.jsonl")).Take(6).ToList();

    private static PrefixAdapter DeepPrefix(PrefixLayers? layers = null, int seed = 1) =>
        new(Loaded.Model.Config, PrefixTuningOptions.DeepPrompt(3, layers, seed));

    private static HeadClassifier Classifier(PrefixAdapter? adapter, LinearHead? head = null) =>
        new(Loaded.Model, Loaded.Tokenizer!, Task, adapter, head ?? HeadClassifier.NewHead(Task, Loaded.Model.Config,
            seed: 2));

    private static TokenTagger Tagger(PrefixAdapter? adapter, LinearHead? head = null) =>
        new(Loaded.Model, Loaded.Tokenizer!, RepositoryData.BrownPos, adapter,
            head ?? TokenTagger.NewHead(RepositoryData.BrownPos, Loaded.Model.Config, seed: 3));

    [Fact]
    public void One_step_changes_the_deep_prefix_and_the_classification_head_only()
    {
        var classifier = Classifier(DeepPrefix(PrefixLayers.Top(2)));
        Assert.Equal(3, classifier.Trainable.Count);
        TrainingSteps.OneStepChangesExactly(Loaded.Model, classifier.Trainable, tape => classifier.Loss(tape,
            Examples));
    }

    [Fact]
    public void One_step_changes_the_deep_prefix_and_the_tagging_head_only()
    {
        var tagger = Tagger(DeepPrefix());
        TrainingSteps.OneStepChangesExactly(Loaded.Model, tagger.Trainable, tape => tagger.Loss(tape, Sentences));
    }

    [Fact]
    public void Batched_rows_of_different_lengths_score_as_each_row_alone() =>
        HeadChecks.BatchedRowsScoreAsAlone(Classifier(DeepPrefix(seed: 4)), Examples, Tagger(DeepPrefix(seed: 5)),
            Sentences);

    [Fact]
    public void Save_then_load_gives_identical_scores_and_tags()
    {
        using var dir = new TempDirectory();
        var config = Loaded.Model.Config;
        var classifier = Classifier(DeepPrefix(PrefixLayers.Top(3), seed: 6));
        var scores = classifier.LabelScores(Examples);
        classifier.Save(dir.File("cls"), "tinystories-260k");
        var reloaded = Classifier(PrefixAdapterFiles.Load(dir.File("cls"), config),
            HeadClassifier.LoadHead(dir.File("cls"), Task, config));
        Assert.Equal(scores, reloaded.LabelScores(Examples));
        Assert.Equal(classifier.StoredValueCount, reloaded.StoredValueCount);

        var tagger = Tagger(DeepPrefix(seed: 7));
        var tags = tagger.Predict(Sentences);
        tagger.Save(dir.File("pos"), "tinystories-260k");
        var reloadedTagger = Tagger(PrefixAdapterFiles.Load(dir.File("pos"), config),
            TokenTagger.LoadHead(dir.File("pos"), RepositoryData.BrownPos, config));
        Assert.Equal(tags, reloadedTagger.Predict(Sentences));

        var e = Assert.Throws<ModelFormatException>(() => TokenTagger.LoadHead(dir.File("cls"), RepositoryData.BrownPos,
            config));
        Assert.Contains(TokenTagger.FileName, e.Message);
        e = Assert.Throws<ModelFormatException>(() => HeadClassifier.LoadHead(dir.File("cls"),
            Task with { Verbalizer = new Dictionary<string, string> { ["a"] = " a", ["b"] = " b" } }, config));
        Assert.Contains("classes", e.Message);
    }

    [Fact]
    public void Training_a_deep_prefix_with_a_head_lowers_the_loss() =>
        HeadChecks.TrainingLowersTheLoss(Classifier(DeepPrefix(seed: 8)), Examples, Tagger(DeepPrefix(seed: 9)),
            Sentences, steps: 20);

    [Fact]
    public void Words_are_encoded_as_they_read_in_the_sentence()
    {
        var tagger = Tagger(adapter: null);
        foreach (var sentence in Sentences)
        {
            var ids = tagger.Encode(sentence, out var starts);
            Assert.Equal(sentence.Words.Count, starts.Length);
            Assert.Equal(Loaded.Tokenizer!.Encode(string.Join(" ", sentence.Words)).Length, ids.Length);
            Assert.Equal(string.Join(" ", sentence.Words), Loaded.Tokenizer.Decode(ids));
            for (int w = 0; w < starts.Length; w++)
                Assert.StartsWith(
                    Loaded.Tokenizer.Decode(ids[starts[w]..(w + 1 < starts.Length ? starts[w + 1] : ids.Length)])
                    .TrimStart(), sentence.Words[w]);
        }
    }

    [Fact]
    public void The_brown_pos_reader_checks_every_row()
    {
        var validation = RepositoryData.BrownPos.ReadSplit(RepositoryData.Find("tasks/brown-pos/validation.jsonl"));
        Assert.Equal(1000, validation.Count);
        Assert.All(validation, s => Assert.Equal(s.Words.Count, s.Tags.Count));
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("bad.jsonl"), "{\"tokens\": [\"a\", \"b\"], \"tags\": [\"NOUN\"]}\n");
        var e = Assert.Throws<InvalidDataException>(() => RepositoryData.BrownPos.ReadSplit(dir.File("bad.jsonl")));
        Assert.Contains("line 1", e.Message);
        File.WriteAllText(dir.File("bad.jsonl"), "{\"tokens\": [\"a\"], \"tags\": [\"NN\"]}\n");
        e = Assert.Throws<InvalidDataException>(() => RepositoryData.BrownPos.ReadSplit(dir.File("bad.jsonl")));
        Assert.Contains("\"NN\"", e.Message);
    }
}
