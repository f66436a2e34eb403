using SoftPrompt.Data.Tasks;
using SoftPrompt.Engine;
using SoftPrompt.Models.Formats;
using SoftPrompt.Tests.Support;
using SoftPrompt.Tuning.HardPrompt;
using SoftPrompt.Tuning.PromptTuning;
using Xunit;

namespace SoftPrompt.Tests.Tuning;

public class HardPromptSearchTests
{
    private static readonly LoadedModel Loaded = ModelLoader.Load(SharedModels.TinyStoriesPath);

    [Fact]
    public void Kept_swaps_lower_the_loss_and_the_prompt_stays_real_token_embeddings()
    {
        var model = Loaded.Model;
        model.SetTrainable(false);
        var task = new ClassificationTask("mood", "Story: {text}\nThe mood was", new Dictionary<string,
            string> { ["happy"] = " happy", ["sad"] = " sad" });
        var example = new LabeledExample(new Dictionary<string,
            string> { ["text"] = "Tom lost his red ball and cried." }, "sad");
        var prompt = new PromptEmbedding(4, model.Config.HiddenSize);
        var classifier = new PromptClassifier(model, Loaded.Tokenizer!, task, prompt);
        var search = new HardPromptSearch<LabeledExample>(classifier, model, candidates: 8, seed: 2);
        var start = Loaded.Tokenizer!.Encode(" the the the the")[..4];
        search.Initialize(start);
        float Loss() => classifier.Loss(new Tape(recording: false), new[] { example })[0];
        float before = Loss();
        var weights = model.TokenEmbedding.ToArray();

        int kept = search.Run(new[] { example }, steps: 12, batchSize: 1);

        Assert.True(kept > 0, "no swap helped in 12 tries");
        Assert.True(Loss() < before, $"loss {before} → {Loss()}");
        Assert.NotEqual(start, search.Tokens);
        int d = model.Config.HiddenSize;
        for (int i = 0; i < 4; i++)
            Assert.Equal(weights.AsSpan(search.Tokens[i] * d, d).ToArray(), prompt.Prompt.ReadOnlySpan.Slice(i * d,
                d).ToArray());
        Assert.Equal(weights, model.TokenEmbedding.ToArray()); // the model's own table is untouched

        using var dir = new TempDirectory();
        HardPromptFiles.Save(dir.Path, search.Tokens, Loaded.Tokenizer!);
        var reloaded = new PromptClassifier(model, Loaded.Tokenizer!, task, HardPromptFiles.Load(dir.Path, model));
        Assert.Equal(classifier.LabelScores(new[] { example })[0], reloaded.LabelScores(new[] { example })[0]);
        Assert.Contains(Loaded.Tokenizer!.Decode(search.Tokens),
            File.ReadAllText(Path.Combine(dir.Path, HardPromptFiles.FileName)).Replace("\\n", "\n"));
    }
}
