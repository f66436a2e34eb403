using SoftPrompt.Engine;
using SoftPrompt.Engine.Autograd;
using SoftPrompt.Engine.Ops;
using SoftPrompt.Models;
using SoftPrompt.Models.Formats;
using SoftPrompt.Models.Generation;
using SoftPrompt.Tests.Support;
using SoftPrompt.Tuning.PromptTuning;
using Xunit;
using Xunit.Abstractions;

namespace SoftPrompt.Tests.Models;

/// <summary>Beam search on the real TinyStories model, checked against greedy decoding and full forward
/// passes.</summary>
public class BeamSearchTests(ITestOutputHelper output)
{
    private static readonly LoadedModel Loaded = ModelLoader.Load(SharedModels.TinyStoriesPath);
    private static readonly string[] Texts = { "Once upon a time", "The little dog",
        "Tom and Sue went to the park. They", "One day, a bird" };

    private static int[] Prompt(string text) => [Loaded.Tokenizer!.BosId!.Value, .. Loaded.Tokenizer!.Encode(text)];

    private static Tensor SoftPrompt(int length, int seed)
    {
        var prompt = new PromptEmbedding(length, Loaded.Model.Config.HiddenSize);
        prompt.InitializeUniform(seed, range: 0.2f);
        return prompt.Prompt;
    }

    /// <summary>log Pr(continuation | soft prompt, prompt) from one forward pass over everything, no cache.</summary>
    private static double FullForwardLogProbability(int[] prompt, int[] continuation, Tensor? softPrompt)
    {
        var model = Loaded.Model;
        int[] ids = [.. prompt, .. continuation];
        var tape = new Tape(recording: false);
        var embeddings = Fn.Embedding(tape, model.TokenEmbedding, ids, 1, ids.Length);
        int p = softPrompt?.Dim(0) ?? 0;
        if (softPrompt is not null) embeddings = Fn.Concat(tape, 1, softPrompt.Reshape(1, p, softPrompt.Dim(1)),
            embeddings);
        return ByHand.TargetLogProbability(model, embeddings, p + prompt.Length - 1, continuation);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(5)]
    public void Width_one_is_greedy_decoding(int softPromptLength)
    {
        var soft = softPromptLength > 0 ? SoftPrompt(softPromptLength, seed: 3) : null;
        var options = new GenerationOptions { MaxNewTokens = 40,
            StopTokens = new[] { Loaded.Tokenizer!.EosId!.Value } };
        foreach (var text in Texts)
        {
            var greedy = Generator.Generate(Loaded.Model, Prompt(text), options, soft).ToArray();
            var beams = Generator.BeamSearch(Loaded.Model, Prompt(text), options, new BeamSearchOptions { Width = 1,
                LengthPenalty = 0 }, soft);
            Assert.Single(beams);
            Assert.Equal(greedy, beams[0].Tokens);
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(6)]
    public void Wider_beams_find_continuations_at_least_as_likely_as_greedy_and_report_their_true_log_probability(
        int softPromptLength)
    {
        var soft = softPromptLength > 0 ? SoftPrompt(softPromptLength, seed: 4) : null;
        // No stop tokens: every hypothesis has the same length, so total log-probabilities compare fairly.
        var options = new GenerationOptions { MaxNewTokens = 16 };
        foreach (var text in Texts)
        {
            var prompt = Prompt(text);
            var greedy = Generator.Generate(Loaded.Model, prompt, options, soft).ToArray();
            double greedyLogProbability = FullForwardLogProbability(prompt, greedy, soft);
            var beams = Generator.BeamSearch(Loaded.Model, prompt, options, new BeamSearchOptions { Width = 4,
                LengthPenalty = 0 }, soft);
            Assert.Equal(4, beams.Count);
            foreach (var beam in beams)
            {
                Assert.Equal(16, beam.Tokens.Length);
                Assert.Equal(FullForwardLogProbability(prompt, beam.Tokens, soft), beam.LogProbability, 3);
            }
            Assert.True(beams.Zip(beams.Skip(1)).All(pair => pair.First.Score >= pair.Second.Score),
                "hypotheses are not best first");
            output.WriteLine(
                $"{text}: greedy {greedyLogProbability:F3}, beam {beams[0].LogProbability:F3}: " +
                $"{Loaded.Tokenizer!.Decode(beams[0].Tokens)}");
            Assert.True(beams[0].LogProbability >= greedyLogProbability - 1e-4,
                $"'{text}': beam {beams[0].LogProbability:F4} below greedy {greedyLogProbability:F4}");
        }
    }

    [Fact]
    public void Hypotheses_stop_at_a_stop_sequence_and_rank_by_length_penalised_score()
    {
        var tokenizer = Loaded.Tokenizer!;
        var prompt = Prompt("Once upon a time");
        // Two tokens the unrestricted greedy output contains, so the stop is certain to be reached.
        var stop = Generator.Generate(Loaded.Model, prompt, new GenerationOptions { MaxNewTokens = 8 }).Skip(5).Take(2)
            .ToArray();
        var options = new GenerationOptions { MaxNewTokens = 30, StopSequences = new[] { stop } };
        var greedy = Generator.Generate(Loaded.Model, prompt, options).ToArray();
        Assert.Equal(stop, greedy[^stop.Length..]);
        Assert.Equal(1, Enumerable.Range(0, greedy.Length - stop.Length + 1).Count(i => greedy.AsSpan(i, stop.Length)
            .SequenceEqual(stop)));

        var beams = Generator.BeamSearch(Loaded.Model, prompt, options, new BeamSearchOptions { Width = 3,
            LengthPenalty = 1 });
        foreach (var beam in beams)
        {
            output.WriteLine($"{beam.Score:F3} {beam.LogProbability:F3} {tokenizer.Decode(beam.Tokens)}");
            if (beam.Stopped) Assert.Equal(stop, beam.Tokens[^stop.Length..]);
            else Assert.Equal(options.MaxNewTokens, beam.Tokens.Length);
            Assert.Equal(beam.LogProbability / beam.Tokens.Length, beam.Score, 9);
            Assert.Equal(FullForwardLogProbability(prompt, beam.Tokens, null), beam.LogProbability, 3);
        }
        Assert.True(beams[0].Stopped);
        Assert.True(beams[0].Score >= FullForwardLogProbability(prompt, greedy, null) / greedy.Length - 1e-4);
    }
}
