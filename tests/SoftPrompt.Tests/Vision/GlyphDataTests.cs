using System.Text.Json;
using SoftPrompt.Data.Images;
using SoftPrompt.Tests.Models;
using Xunit;

namespace SoftPrompt.Tests.Vision;

/// <summary>The committed glyph tasks are what data/glyphs/README.md says: counts, classes, and fonts kept
/// apart.</summary>
public class GlyphDataTests
{
    private static string[] Fonts(string task, string split)
    {
        using var index = JsonDocument.Parse(File.ReadAllBytes(ShippedModelTests.RepositoryPath(
            $"data/glyphs/{task}/index.json")));
        return index.RootElement.GetProperty("splits").GetProperty(split).GetProperty("fonts").EnumerateArray()
            .Select(f => f.GetString()!).ToArray();
    }

    [Theory]
    [InlineData("characters", "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", 8640, 432, 432)]
    [InlineData("lowercase", "abcdefghijklmnopqrstuvwxyz", 1404, 468, 702)]
    public void Glyph_task_has_its_classes_counts_and_balanced_labels(string name, string classes, int train,
        int validation, int test)
    {
        var task = ImageTask.Load(ShippedModelTests.RepositoryPath($"data/glyphs/{name}"));
        Assert.Equal(classes.Select(c => c.ToString()), task.Classes);
        Assert.Equal((16, 1), (task.ImageSize, task.Channels));
        Assert.Equal((train, validation, test), (task.Train.Count, task.Validation.Count, task.Test.Count));
        foreach (var split in new[] { task.Train, task.Validation, task.Test })
            Assert.Single(split.GroupBy(i => i.Label).Select(g => g.Count()).Distinct());
        // Every image has ink, and not everywhere: a glyph, not a blank or a filled square. (FreeMono's hairline
        // strokes come out faint at 16×16, so "ink" is any clearly grey pixel.)
        Assert.All(task.Train, i => Assert.InRange(i.Pixels.Count(p => p > 0.2f), 3, 200));
    }

    [Fact]
    public void No_font_file_is_in_two_splits_or_in_both_tasks()
    {
        var splits = new[] { "train", "validation", "test" };
        var characters = splits.SelectMany(s => Fonts("characters", s)).ToList();
        var lowercase = splits.SelectMany(s => Fonts("lowercase", s)).ToList();
        Assert.Equal(characters.Count, characters.Distinct().Count());
        Assert.Equal(lowercase.Count, lowercase.Distinct().Count());
        Assert.Empty(characters.Intersect(lowercase));
    }
}
