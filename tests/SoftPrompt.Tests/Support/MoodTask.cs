using SoftPrompt.Data.Tasks;
using SoftPrompt.Models.Formats;

namespace SoftPrompt.Tests.Support;

/// <summary>The toy classification task the tuning tests share, over the real TinyStories model.</summary>
public static class MoodTask
{
    /// <summary>A model of the test class's own: xunit runs classes in parallel, and tests flip which weights
    /// train.</summary>
    public static LoadedModel Load() => ModelLoader.Load(SharedModels.TinyStoriesPath);

    /// <summary>"happy" / "sad"; <paramref name="sadWords"/> " very sad" gives labels of different token
    /// lengths.</summary>
    public static ClassificationTask Task(string sadWords = " sad") =>
        new("mood", "Story: {text}\nThe mood was", new Dictionary<string, string> { ["happy"] = " happy",
            ["sad"] = sadWords });

    public static LabeledExample Example(string text, string label) => new(new Dictionary<string,
        string> { ["text"] = text }, label);

    /// <summary>Three stories of different lengths and both labels.</summary>
    public static LabeledExample[] Examples() =>
    [
        Example("Lily played with her dog in the sun.", "happy"),
        Example("Tom lost his red ball and cried.", "sad"),
        Example("The bird sang a song for the kids at the big party.", "happy"),
    ];
}
