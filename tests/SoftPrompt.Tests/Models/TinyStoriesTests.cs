using SoftPrompt.Engine;
using SoftPrompt.Engine.Autograd;
using SoftPrompt.Models;
using SoftPrompt.Models.Formats;
using SoftPrompt.Models.Generation;
using SoftPrompt.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace SoftPrompt.Tests.Models;

/// <summary>The real pretrained TinyStories-260K model: it loads, speaks English and finds a story-like text
/// likely.</summary>
public class TinyStoriesTests(ITestOutputHelper output)
{
    private const string Story =
        "Once upon a time, there was a little girl named Lily. She liked to play in the park with her dog. " +
        "One day, Lily saw a big red ball under a tree. She ran to the ball and picked it up. " +
        "Her dog was happy and wagged its tail. Lily and her dog played with the ball all day. " +
        "When the sun went down, they went home. Lily said, \"Thank you, Mom, for a fun day!\"";

    private static readonly LoadedModel Loaded = ModelLoader.Load(SharedModels.TinyStoriesPath);

    [Fact]
    public void Mean_loss_on_a_story_is_far_below_uniform_guessing()
    {
        var tokenizer = Loaded.Tokenizer!;
        var ids = new List<int> { tokenizer.BosId!.Value };
        ids.AddRange(tokenizer.Encode(Story));
        int n = ids.Count - 1;
        var model = Loaded.Model;
        var tape = new Tape(recording: false);
        var logits = model.Forward(tape, new ForwardInput { Batch = 1, Length = n, TokenIds = ids.Take(n).ToArray() });
        var loss = Fn.CrossEntropy(tape, logits.Reshape(n, model.Config.VocabSize), ids.Skip(1).ToArray());
        double uniform = Math.Log(model.Config.VocabSize);
        output.WriteLine($"{n} tokens, mean loss {loss.ReadOnlySpan[0]:F3} nats (uniform: {uniform:F2})");
        Assert.True(loss.ReadOnlySpan[0] < 2.5,
            $"mean loss {loss.ReadOnlySpan[0]:F3} is not well under ln(V) = {uniform:F2}");
    }

    [Fact]
    public void Greedy_continuation_is_made_of_english_words()
    {
        var tokenizer = Loaded.Tokenizer!;
        var prompt = new List<int> { tokenizer.BosId!.Value };
        prompt.AddRange(tokenizer.Encode("Once upon a time"));
        var generated = Generator.Generate(Loaded.Model, prompt, new GenerationOptions { MaxNewTokens = 48 }).ToArray();
        string text = tokenizer.Decode(generated);
        output.WriteLine("Once upon a time" + text);

        var words = text.Split(new[] { ' ', '\n', '.', ',', '!', '?', '"', '\'' },
            StringSplitOptions.RemoveEmptyEntries);
        Assert.True(words.Length >= 20, $"only {words.Length} words: {text}");
        // Readable English: words are made of letters, and the commonest story words appear.
        int alphabetic = words.Count(w => w.All(char.IsAsciiLetter));
        Assert.True(alphabetic >= 0.9 * words.Length,
            $"{words.Length - alphabetic} of {words.Length} words are not alphabetic: {text}");
        var common = new HashSet<string> { "the", "a", "was", "she", "he", "they", "and", "to", "there", "her", "his",
            "in" };
        Assert.True(words.Count(w => common.Contains(w.ToLowerInvariant())) >= 4,
            $"hardly any common English words: {text}");
    }

    [Fact]
    public void Cached_decoding_matches_a_full_forward()
    {
        var model = Loaded.Model;
        int[] ids = Loaded.Tokenizer!.Encode("The cat sat on the mat and looked at the bird.");
        var tape = new Tape(recording: false);
        var full = model.Forward(tape, new ForwardInput { Batch = 1, Length = ids.Length, TokenIds = ids }).ToArray();

        var cache = new KvCache(model.Config, batch: 1, capacity: ids.Length);
        int v = model.Config.VocabSize, split = 5;
        var stepwise = new List<float>();
        stepwise.AddRange(model.Forward(tape, new ForwardInput { Batch = 1, Length = split, TokenIds = ids[..split],
            Cache = cache }).ToArray());
        for (int i = split; i < ids.Length; i++)
            stepwise.AddRange(model.Forward(tape, new ForwardInput { Batch = 1, Length = 1, TokenIds = new[] { ids[i] },
                Cache = cache }).ToArray());
        Assert.Equal(full.Length, stepwise.Count);
        Assert.True(Compare.MaxRelativeError(stepwise.ToArray(), full) < 1e-4,
            "cached logits differ from the full forward");
    }
}
