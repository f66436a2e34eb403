using SoftPrompt.Data.Tasks;
using SoftPrompt.Engine;
using SoftPrompt.Models.Formats;
using SoftPrompt.Tests.Support;
using SoftPrompt.Tuning.PromptTuning;
using Xunit;
using Xunit.Abstractions;

namespace SoftPrompt.Tests.Tuning;

/// <summary>Three tasks, three prompts of different lengths, trained in mixed batches on the real TinyStories
/// model.</summary>
public class MultiTaskPromptTuningTests(ITestOutputHelper output)
{
    private static readonly LoadedModel Loaded = ModelLoader.Load(SharedModels.TinyStoriesPath);

    private static readonly ClassificationTask[] Definitions =
    {
        new("mood", "Story: {text}\nThe mood was", new Dictionary<string, string> { ["happy"] = " happy",
            ["sad"] = " sad" }),
        new("animal", "{text}\nThe animal in the story is a", new Dictionary<string, string> { ["dog"] = " dog",
            ["cat"] = " cat", ["bird"] = " little bird" }),
        new("place", "Where: {text}\nAnswer:", new Dictionary<string, string> { ["park"] = " the park",
            ["home"] = " home" }),
    };

    private static readonly (int Task, string Text, string Label)[] Rows =
    {
        (0, "Lily played with her dog in the sun.", "happy"), (0, "Tom lost his red ball and cried.", "sad"),
        (0, "The party had cake and songs.", "happy"), (0, "The toy broke and nobody could fix it.", "sad"),
        (1, "A puppy barked at the door.", "dog"), (1, "The kitten drank milk.", "cat"),
        (1, "It flew up to the tree and sang.", "bird"),
        (2, "They ran on the grass near the swings.", "park"), (2, "Mom made soup in the kitchen.", "home"),
        (2, "The slide was tall and the pond was big.", "park"),
    };

    private static List<PromptClassifier> Classifiers(int seed, ClassificationLoss loss =
        ClassificationLoss.Vocabulary) => Definitions.Select((d, i) =>
    {
        var prompt = new PromptEmbedding(2 + 3 * i, Loaded.Model.Config.HiddenSize, $"prompt.{d.Name}");
        prompt.InitializeUniform(seed + i, range: 0.3f);
        return new PromptClassifier(Loaded.Model, Loaded.Tokenizer!, d, prompt) { TrainingLoss = loss };
    }).ToList();

    private static List<TaskExample> Examples() =>
        Rows.Select(r => new TaskExample(r.Task, new LabeledExample(new Dictionary<string,
            string> { ["text"] = r.Text }, r.Label))).ToList();

    [Theory]
    [InlineData(ClassificationLoss.Vocabulary)]
    [InlineData(ClassificationLoss.LabelChoice)]
    public void A_mixed_batch_gives_each_prompt_the_gradient_of_its_own_rows_alone(ClassificationLoss loss)
    {
        Loaded.Model.SetTrainable(false);
        var tasks = Classifiers(seed: 11, loss);
        var objective = new MultiTaskPromptObjective(Loaded.Model, tasks);
        var batch = Examples();
        var tape = new Tape();
        tape.Backward(objective.Loss(tape, batch));
        var mixed = tasks.Select(t => t.Prompt!.Prompt.Grad.ToArray()).ToList();

        for (int t = 0; t < tasks.Count; t++)
        {
            foreach (var task in tasks) task.Prompt!.Prompt.ZeroGrad();
            tape.Reset();
            var own = batch.Where(e => e.Task == t).Select(e => e.Example).ToList();
            tape.Backward(tasks[t].Loss(tape, own)); // the single-task path: right-padded rows behind one prompt
            var alone = tasks[t].Prompt!.Prompt.Grad.ToArray();
            Assert.True(alone.Any(g => g != 0), $"task {t} got no gradient");
            double worst = alone.Zip(mixed[t]).Max(p => Math.Abs(p.First - p.Second));
            output.WriteLine($"task {Definitions[t].Name}: max |mixed − alone| = {worst:E2}");
            Assert.True(worst <= 1e-5, $"task {Definitions[t].Name}: gradients differ by {worst:E2}");
        }
        tape.Reset();
    }

    [Fact]
    public void A_short_multi_task_run_lowers_every_tasks_loss()
    {
        Loaded.Model.SetTrainable(false);
        var tasks = Classifiers(seed: 21);
        var examples = Examples();
        double[] Losses()
        {
            var tape = new Tape(recording: false);
            return tasks.Select((task, t) =>
            {
                tape.Reset();
                return (double)task.Loss(tape, examples.Where(e => e.Task == t).Select(e => e.Example).ToList())[0];
            }).ToArray();
        }
        var before = Losses();
        var options = new PromptTuningOptions { Steps = 15, BatchSize = 6, Optimizer = "adamw", LearningRate = 0.05f,
            EvaluateEvery = 15, CheckpointEvery = 100 };
        using var dir = new TempDirectory();
        var result = new MultiTaskPromptTuner(new MultiTaskPromptObjective(Loaded.Model, tasks), options).Run(examples,
            examples, dir.Path);
        var after = Losses();
        for (int t = 0; t < tasks.Count; t++)
        {
            output.WriteLine($"{Definitions[t].Name}: loss {before[t]:F3} → {after[t]:F3}");
            Assert.True(after[t] < before[t], $"task {Definitions[t].Name}: loss {before[t]:F3} → {after[t]:F3}");
        }
        Assert.Equal(15, result.Steps);
        Assert.True(SoftPrompt.Training.Checkpoints.TrainingCheckpoint.Exists(dir.Path),
            "no checkpoint of the prompts was written");
    }

    [Fact]
    public void Prompts_that_share_a_name_are_refused()
    {
        var tasks = Definitions.Take(2).Select(d => new PromptClassifier(Loaded.Model, Loaded.Tokenizer!, d,
            new PromptEmbedding(3, Loaded.Model.Config.HiddenSize))).ToList();
        var error = Assert.Throws<ArgumentException>(() => new MultiTaskPromptObjective(Loaded.Model, tasks));
        Assert.Contains("prompt_embeddings", error.Message);
    }
}
