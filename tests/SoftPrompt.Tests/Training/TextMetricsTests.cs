using SoftPrompt.Training.Metrics;
using Xunit;

namespace SoftPrompt.Tests.Training;

public class TextMetricsTests
{
    [Fact]
    public void Identical_text_scores_one_and_disjoint_text_zero()
    {
        var refs = new[] { "a small dog barked at the mailman", "water boils at one hundred degrees" };
        Assert.Equal(1.0, TextMetrics.CorpusBleu(refs, refs), 10);
        Assert.Equal(1.0, TextMetrics.MeanRougeL(refs, refs), 10);
        var other = new[] { "xyz", "qqq rrr" };
        Assert.Equal(0.0, TextMetrics.CorpusBleu(refs, other));
        Assert.Equal(0.0, TextMetrics.MeanRougeL(refs, other));
    }

    [Fact]
    public void Worked_example_by_hand()
    {
        // ref: the cat sat on the mat . (7 words); hyp: the cat on the mat . (6 words)
        // unigrams 6/6; bigrams 4/5 → (4+1)/(5+1); trigrams 2/4 → 3/5; 4-grams 1/3 → 2/4; brevity e^(1−7/6)
        double expectedBleu = Math.Exp(1 - 7.0 / 6) * Math.Pow(1.0 * (5.0 / 6) * (3.0 / 5) * (2.0 / 4), 0.25);
        Assert.Equal(expectedBleu, TextMetrics.CorpusBleu(new[] { "The cat sat on the mat." },
            new[] { "the cat on the mat." }), 10);
        // LCS "the cat on the mat ." = 6 of hyp 6 and ref 7 words (with the full stop)
        double p = 6.0 / 6, r = 6.0 / 7;
        Assert.Equal(2 * p * r / (p + r), TextMetrics.MeanRougeL(new[] { "The cat sat on the mat." },
            new[] { "the cat on the mat." }), 10);
    }
}
