using SoftPrompt.Training.Pretraining;
using Xunit;

namespace SoftPrompt.Tests.EncoderDecoder;

public class SpanCorruptionTests
{
    private static readonly int[] Sentinels = Enumerable.Range(0, 32).Select(i => 1000 - i).ToArray();
    private const int EndOfSequence = 999;

    [Theory]
    [InlineData(20, 1)]
    [InlineData(112, 2)]
    [InlineData(128, 3)]
    [InlineData(128, 4)]
    public void Input_and_target_put_the_window_back_together_exactly(int length, int seed)
    {
        var corruption = new SpanCorruption(Sentinels, EndOfSequence);
        var window = Enumerable.Range(0, length).Select(i => i * 7 % 500).ToArray();
        var input = new int[corruption.InputLength(length)];
        var target = new int[corruption.TargetLength(length)];
        corruption.Apply(new Random(seed), window, input, target);

        Assert.Equal(EndOfSequence, input[^1]);
        Assert.Equal(EndOfSequence, target[^1]);
        // The target is: sentinel i, then the span it hides, for i = 0, 1, …
        var spans = new List<List<int>>();
        foreach (int id in target[..^1])
        {
            if (Sentinels.Contains(id)) { Assert.Equal(Sentinels[spans.Count], id); spans.Add(new List<int>()); }
            else spans[^1].Add(id);
        }
        Assert.Equal(corruption.Spans(length), spans.Count);
        Assert.All(spans, span => Assert.NotEmpty(span));
        Assert.Equal(corruption.NoiseTokens(length), spans.Sum(s => s.Count));
        // Putting each span back in place of its sentinel in the input restores the window.
        var restored = new List<int>();
        int sentinelsSeen = 0;
        foreach (int id in input[..^1])
        {
            if (Sentinels.Contains(id)) { Assert.Equal(Sentinels[sentinelsSeen], id); restored.AddRange(
                spans[sentinelsSeen++]); }
            else restored.Add(id);
        }
        Assert.Equal(window, restored);
        Assert.False(Sentinels.Contains(input[0]), "the window starts with kept text, as T5's noise mask does");
    }

    [Fact]
    public void About_fifteen_percent_in_spans_of_about_three()
    {
        var corruption = new SpanCorruption(Sentinels, EndOfSequence);
        Assert.Equal(17, corruption.NoiseTokens(112)); // round(16.8)
        Assert.Equal(6, corruption.Spans(112));        // round(17 / 3)
        Assert.Equal(112 - 17 + 6 + 1, corruption.InputLength(112));
        Assert.Equal(17 + 6 + 1, corruption.TargetLength(112));
    }

    [Fact]
    public void Too_few_sentinels_is_an_error_that_says_so()
    {
        var corruption = new SpanCorruption(Sentinels[..2], EndOfSequence);
        var e = Assert.Throws<ArgumentException>(() => corruption.Apply(new Random(1), new int[128],
            new int[corruption.InputLength(128)], new int[corruption.TargetLength(128)]));
        Assert.Contains("only 2 sentinels", e.Message);
    }
}
