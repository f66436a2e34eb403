using SoftPrompt.Engine;
using SoftPrompt.Models;
using SoftPrompt.Models.Formats;
using Xunit;
using Xunit.Abstractions;

namespace SoftPrompt.Tests.Models;

/// <summary>The base models the repository ships load, tokenize, and find held-out English far likelier than chance.</summary>
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
}
