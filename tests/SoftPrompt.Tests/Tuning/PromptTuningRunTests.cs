using System.Text.Json;
using SoftPrompt.Models.Formats;
using SoftPrompt.Tests.Support;
using SoftPrompt.Training.Progress;
using SoftPrompt.Tuning.PromptTuning;
using Xunit;

namespace SoftPrompt.Tests.Tuning;

/// <summary>The `tune` run as a library call: the task template's {soft} slot decides the prompt's place and length
/// unless the settings say otherwise, and the adapter records what was trained.</summary>
public class PromptTuningRunTests
{
    private static string WriteTask(TempDirectory dir, string template)
    {
        string task = dir.File("mood");
        Directory.CreateDirectory(task);
        var rows = new[] { ("Tom smiled at the sun.", "happy"), ("Tom cried all night.", "sad") };
        foreach (var split in new[] { "train", "validation", "test" })
            File.WriteAllLines(Path.Combine(task, split + ".jsonl"),
                Enumerable.Range(0, 6).Select(i => JsonSerializer.Serialize(new { story = rows[i % 2].Item1,
                    label = rows[i % 2].Item2 })));
        File.WriteAllText(Path.Combine(task, "task.json"), JsonSerializer.Serialize(new
        {
            kind = "classification", template, verbalizer = new Dictionary<string, string> { ["happy"] = " happy",
                ["sad"] = " sad" },
        }));
        return task;
    }

    [Theory]
    [InlineData("{soft*3}Story: {story} The mood was", 3, PromptPlacement.BeforeInput, null, null)]
    [InlineData("Story: {story} The mood was{soft*2}", 2, PromptPlacement.BeforeAnswer, null, null)]
    // flags win
    [InlineData("Story: {story} The mood was{soft*2}", 4, PromptPlacement.BeforeInput, 4, PromptPlacement.BeforeInput)]
    [InlineData("Story: {story} The mood was", 20, PromptPlacement.BeforeInput, null, null)]
    public void The_template_s_soft_slot_places_and_sizes_the_prompt(string template, int length,
        PromptPlacement placement,
        int? givenLength, PromptPlacement? givenPlacement)
    {
        using var dir = new TempDirectory();
        string task = WriteTask(dir, template);
        var loaded = ModelLoader.Load(SharedModels.TinyStoriesPath);
        var settings = new PromptTuningRun.Settings("mood", task, dir.File("adapter"), givenLength, givenPlacement,
            "labels", null, 1,
            new PromptTuningOptions { Steps = 2, BatchSize = 2, EvaluateEvery = 1, Seed = 1 }, 4, 4, false, false,
                ClassificationLoss.Auto);
        var outcome = PromptTuningRun.Run(loaded.Model, loaded.Tokenizer!, loaded.Source, settings,
            SilentProgress.Instance, _ => { });

        var classified = Assert.IsType<PromptTuningRun.ClassificationOutcome>(outcome);
        Assert.Equal(length, classified.PromptLength);
        Assert.Equal(placement, classified.Placement);
        var saved = PromptAdapterFiles.Load(dir.File("adapter"), loaded.Model.Config.HiddenSize);
        Assert.Equal(length, saved.Length);
        Assert.Equal(placement, saved.Placement);
    }

    [Theory]
    [InlineData("Story: {story} The mood was", null)] // the init text's own tokens, neither cut nor repeated
    [InlineData("Story: {story} The mood was{soft*2}", 2)] // the template's slot still decides
    public void An_init_text_sizes_the_prompt_when_nothing_else_does(string template, int? expected)
    {
        using var dir = new TempDirectory();
        string task = WriteTask(dir, template);
        var loaded = ModelLoader.Load(SharedModels.TinyStoriesPath);
        const string text = " How did the story feel at the end?";
        var settings = new PromptTuningRun.Settings("mood", task, dir.File("adapter"), null, null, "text", text, 1,
            new PromptTuningOptions { Steps = 1, BatchSize = 2, EvaluateEvery = 1, Seed = 1 }, 4, 4, false, false,
            ClassificationLoss.Auto);
        var outcome = PromptTuningRun.Run(loaded.Model, loaded.Tokenizer!, loaded.Source, settings,
            SilentProgress.Instance, _ => { });
        int textTokens = loaded.Tokenizer!.Encode(text).Length;
        Assert.True(textTokens is > 2 and not 20, $"the text has {textTokens} tokens");
        Assert.Equal(expected ?? textTokens, Assert.IsType<PromptTuningRun.ClassificationOutcome>(outcome)
            .PromptLength);
    }
}
