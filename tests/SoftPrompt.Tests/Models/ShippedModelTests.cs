using SoftPrompt.Data.Tokenizers;
using SoftPrompt.Engine;
using SoftPrompt.Models;
using SoftPrompt.Models.Formats;
using Xunit;
using Xunit.Abstractions;

namespace SoftPrompt.Tests.Models;

/// <summary>The base models the repository ships load, tokenize, and find held-out English far likelier than chance:
/// the decoders its next tokens, the encoder its masked ones.</summary>
public class ShippedModelTests(ITestOutputHelper output)
{
    // Held-out prose, not from the corpus (written for this test).
    private const string Text =
        "The morning was cold, and the old man walked slowly to the market with his basket. He bought bread, " +
        "a little cheese and some apples, and then he sat down on a bench to watch the people pass.";

    public static string RepositoryPath(string relative)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "SoftPrompt.slnx"))) return Path.Combine(dir.FullName, relative);
        throw new DirectoryNotFoundException($"No repository root above {AppContext.BaseDirectory}.");
    }

    [Theory]
    [InlineData("models/base-small", 3.5)]
    [InlineData("models/base-adapted", 3.5)]
    [InlineData("models/base-tiny", 1.5)]
    [InlineData("models/ladder-mini", 3.0)]
    [InlineData("models/ladder-compact", 3.0)]
    [InlineData("models/base-tone-mixed", 3.5)]
    public void Shipped_base_model_predicts_held_out_prose(string path, double nats)
    {
        var loaded = ModelLoader.Load(RepositoryPath(path));
        var tokenizer = loaded.Tokenizer!;
        Assert.Equal(Text, tokenizer.Decode(tokenizer.Encode(Text)));
        var ids = new List<int> { tokenizer.EosId!.Value };
        ids.AddRange(tokenizer.Encode(Text));
        int n = ids.Count - 1;
        var model = loaded.Model;
        var tape = new Tape(recording: false);
        var hidden = model.Hidden(tape, new ForwardInput { Batch = 1, Length = n, TokenIds = ids.Take(n).ToArray() });
        float loss = model.LanguageModelLoss(tape, hidden, ids.Skip(1).ToArray())[0];
        double uniform = Math.Log(model.Config.VocabSize);
        output.WriteLine($"{path}: {n} tokens, mean loss {loss:F3} nats (uniform {uniform:F2})");
        Assert.True(loss < uniform - nats, $"mean loss {loss:F3} is not {nats} nats under uniform ({uniform:F2})");
    }

    /// <summary>
    /// The shipped encoder-decoders on the same held-out prose: the span-corruption model fills masked spans far better
    /// than chance, and its greedy answer to a masked text starts with the first sentinel, as span corruption taught
    /// it; the LM-adapted one continues a text far better than chance and answers in words, not sentinels.
    /// </summary>
    [Theory]
    [InlineData("models/t5-small", false, 2.5)]
    [InlineData("models/t5-small-lm", true, 1.5)]
    public void Shipped_t5_fills_spans_or_continues_held_out_prose(string path, bool lmAdapted, double nats)
    {
        var loaded = ModelLoader.LoadT5(RepositoryPath(path));
        var (model, tokenizer) = (loaded.Model, loaded.Tokenizer!);
        var ids = tokenizer.Encode(Text);
        int eos = tokenizer.EosId!.Value;
        var sentinels = Enumerable.Range(0, 32).Select(i => tokenizer.TokenId($"<extra_id_{i}>")!.Value).ToArray();
        int[] input, target;
        if (lmAdapted)
        {
            int half = ids.Length / 2;
            (input, target) = (ids[..half], ids[half..]);
        }
        else
        {
            var corruption = new SoftPrompt.Training.Pretraining.SpanCorruption(sentinels, eos);
            (input, target) = (new int[corruption.InputLength(ids.Length)],
                new int[corruption.TargetLength(ids.Length)]);
            corruption.Apply(new Random(1), ids, input, target);
        }
        var tape = new Tape(recording: false);
        var encoded = model.Encode(tape, new ForwardInput { Batch = 1, Length = input.Length, TokenIds = input });
        var decoded = model.Decode(tape, new ForwardInput { Batch = 1, Length = target.Length,
            TokenIds = model.ShiftRight(target, 1, target.Length) }, encoded, null);
        float loss = model.Loss(tape, decoded, target)[0];
        tape.Reset();
        double uniform = Math.Log(model.Config.VocabSize);
        output.WriteLine($"{path}: {target.Length} target tokens, mean loss {loss:F3} nats (uniform {uniform:F2})");
        Assert.True(loss < uniform - nats, $"mean loss {loss:F3} is not {nats} nats under uniform ({uniform:F2})");

        var answer = SoftPrompt.Models.Generation.Seq2SeqGenerator.Greedy(model, [.. ids[..20], sentinels[0],
            .. ids[24..40], eos], 3, eos);
        output.WriteLine($"{path}: answers {string.Join(" ", answer.Select(tokenizer.TokenText))}");
        Assert.Equal(!lmAdapted, answer.Count > 0 && answer[0] == sentinels[0]);
    }

    [Fact]
    public void Shipped_encoder_fills_in_masked_held_out_prose()
    {
        var loaded = ModelLoader.Load(RepositoryPath("models/encoder-small"));
        var model = loaded.Encoder;
        var tokenizer = Assert.IsType<WordPieceTokenizer>(loaded.Tokenizer);
        var ids = new List<int> { tokenizer.ClsId!.Value };
        ids.AddRange(tokenizer.Encode(Text));
        ids.Add(tokenizer.SepId!.Value);
        Assert.DoesNotContain(tokenizer.TokenId("[UNK]") ?? -1, ids); // the vocabulary covers plain English prose
        // Seven rows, row r hiding every 7th word piece from r on behind [MASK]: every piece is predicted once, from a
        // fixed choice of masks, so the figure never varies.
        const int rows = 7;
        int n = ids.Count;
        var inputs = new int[rows * n];
        var targets = Enumerable.Repeat(-100, rows * n).ToArray();
        for (int r = 0; r < rows; r++)
        {
            ids.CopyTo(inputs, r * n);
            for (int i = 1 + r; i < n - 1; i += rows) (targets[r * n + i], inputs[r * n + i]) = (ids[i],
                tokenizer.MaskId!.Value);
        }
        var tape = new Tape(recording: false);
        var hidden = model.Hidden(tape, new ForwardInput { Batch = rows, Length = n, TokenIds = inputs });
        float loss = model.LanguageModelLoss(tape, hidden, targets)[0];
        double uniform = Math.Log(model.Config.VocabSize);
        output.WriteLine(
            $"encoder-small: {targets.Count(t => t >= 0)} of {n} tokens masked, mean loss {loss:F3} nats (uniform " +
            $"{uniform:F2})");
        Assert.True(loss < uniform - MaskedMargin,
            $"mean masked loss {loss:F3} is not {MaskedMargin} nats under uniform ({uniform:F2})");
    }

    private const double MaskedMargin = 1.5;
}
