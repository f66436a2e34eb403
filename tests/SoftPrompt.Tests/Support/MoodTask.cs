using SoftPrompt.Data.Tasks;
using SoftPrompt.Models.Formats;

namespace SoftPrompt.Tests.Support;

/// <summary>The toy classification task the tuning tests share, over the real TinyStories model (loaded once).</summary>
public static class MoodTask
{
    private static readonly Lazy<LoadedModel> Model = new(() => ModelLoader.Load(SharedModels.TinyStoriesPath));

    public static LoadedModel Loaded => Model.Value;

    /// <summary>"happy" / "sad"; <paramref name="sadWords"/> " very sad" gives labels of different token lengths.</summary>
    public static ClassificationTask Task(string sadWords = " sad") =>
        new("mood", "Story: {text}\nThe mood was", new Dictionary<string, string> { ["happy"] = " happy", ["sad"] = sadWords });

    public static LabeledExample Example(string text, string label) => new(new Dictionary<string, string> { ["text"] = text }, label);

    /// <summary>Three stories of different lengths and both labels.</summary>
    public static LabeledExample[] Examples() =>
    [
        Example("Lily played with her dog in the sun.", "happy"),
        Example("Tom lost his red ball and cried.", "sad"),
        Example("The bird sang a song for the kids at the big party.", "happy"),
    ];
}
