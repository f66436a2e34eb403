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
    [InlineData("models/base-tiny", 1.5)]
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
            for (int i = 1 + r; i < n - 1; i += rows) (targets[r * n + i], inputs[r * n + i]) = (ids[i], tokenizer.MaskId!.Value);
        }
        var tape = new Tape(recording: false);
        var hidden = model.Hidden(tape, new ForwardInput { Batch = rows, Length = n, TokenIds = inputs });
        float loss = model.LanguageModelLoss(tape, hidden, targets)[0];
        double uniform = Math.Log(model.Config.VocabSize);
        output.WriteLine($"encoder-small: {targets.Count(t => t >= 0)} of {n} tokens masked, mean loss {loss:F3} nats (uniform {uniform:F2})");
        Assert.True(loss < uniform - MaskedMargin, $"mean masked loss {loss:F3} is not {MaskedMargin} nats under uniform ({uniform:F2})");
    }

    private const double MaskedMargin = 1.5;
}
