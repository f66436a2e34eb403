using SoftPrompt.Tests.Models;
using Xunit;

namespace SoftPrompt.Tests.Repository;

/// <summary>The habits of .editorconfig that a build does not check, checked on every source file under src/ and
/// tests/.</summary>
public class SourceStyleTests
{
    private const int MaxLineLength = 120; // .editorconfig's max_line_length

    [Theory]
    [InlineData("src")]
    [InlineData("tests")]
    public void No_source_line_is_longer_than_the_editorconfig_limit(string folder)
    {
        string src = ShippedModelTests.RepositoryPath(folder);
        var tooLong = Directory.EnumerateFiles(src, "*.cs", SearchOption.AllDirectories)
            .Where(path => !path.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}")
                && !path.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}")
                && Path.GetFileName(path) != "UnicodeNormalizationData.cs") // generated tables
            .SelectMany(path => File.ReadLines(path).Select((line, i) => (path, line, number: i + 1)))
            .Where(l => l.line.Length > MaxLineLength)
            .Select(l => $"{Path.GetRelativePath(src, l.path)}:{l.number} ({l.line.Length} characters)")
            .ToList();
        Assert.True(tooLong.Count == 0, $"{tooLong.Count} lines over {MaxLineLength} characters:\n" +
            string.Join("\n", tooLong.Take(20)));
    }
}
