using SoftPrompt.Models.Generation;
using Xunit;

namespace SoftPrompt.Tests.Models;

public class TokenSamplerTests
{
    private static readonly float[] Logits = { 0.5f, 2.0f, 1.0f, -1.0f, 1.9f };

    [Fact]
    public void Greedy_picks_the_largest_logit() =>
        Assert.Equal(1, new TokenSampler(new GenerationOptions()).Next(Logits));

    [Fact]
    public void Top_k_limits_sampling_to_the_k_most_likely()
    {
        var sampler = new TokenSampler(new GenerationOptions { Temperature = 5f, TopK = 2, Seed = 1 });
        var seen = Enumerable.Range(0, 500).Select(_ => sampler.Next(Logits)).ToHashSet();
        Assert.Equal(new HashSet<int> { 1, 4 }, seen);
    }

    [Fact]
    public void Top_p_keeps_the_smallest_set_reaching_the_mass()
    {
        // At temperature 1: p(1) ≈ 0.39, p(4) ≈ 0.35, p(2) ≈ 0.14 … so p = 0.7 needs tokens 1 and 4, p = 0.3 only token
        // 1.
        var narrow = new TokenSampler(new GenerationOptions { Temperature = 1f, TopP = 0.3f, Seed = 2 });
        Assert.All(Enumerable.Range(0, 200), _ => Assert.Equal(1, narrow.Next(Logits)));
        var wider = new TokenSampler(new GenerationOptions { Temperature = 1f, TopP = 0.7f, Seed = 2 });
        Assert.Equal(new HashSet<int> { 1, 4 }, Enumerable.Range(0, 500).Select(_ => wider.Next(Logits)).ToHashSet());
    }

    [Fact]
    public void Sampling_frequencies_follow_the_softmax()
    {
        var sampler = new TokenSampler(new GenerationOptions { Temperature = 1f, Seed = 3 });
        const int draws = 20000;
        var counts = new int[Logits.Length];
        for (int i = 0; i < draws; i++) counts[sampler.Next(Logits)]++;
        double z = Logits.Sum(l => Math.Exp(l));
        for (int i = 0; i < Logits.Length; i++)
        {
            double expected = Math.Exp(Logits[i]) / z;
            Assert.InRange(counts[i] / (double)draws, expected - 0.02, expected + 0.02);
        }
    }

    [Fact]
    public void Bad_options_are_rejected_with_their_name()
    {
        Assert.Contains("top-p", Assert.Throws<ArgumentException>(() =>
            new TokenSampler(new GenerationOptions { TopP = 0 })).Message);
        Assert.Contains("temperature", Assert.Throws<ArgumentException>(() =>
            new TokenSampler(new GenerationOptions { Temperature = -1 })).Message);
    }
}
