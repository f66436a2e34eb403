using System.Text.Json;
using System.Text.Json.Nodes;
using SoftPrompt.Data.Tokenizers;
using SoftPrompt.Engine.IO;
using SoftPrompt.Models;
using SoftPrompt.Tuning.PromptTuning;

namespace SoftPrompt.Tuning.HardPrompt;

/// <summary>A discrete prompt as its token ids (what reproduces it exactly) and its text (what a person
/// reads).</summary>
public static class HardPromptFiles
{
    public const string FileName = "hard_prompt.json";

    public static void Save(string directory, IReadOnlyList<int> tokens, ITokenizer tokenizer)
    {
        Directory.CreateDirectory(directory);
        string path = Path.Combine(directory, FileName), temporary = path + ".tmp";
        File.WriteAllText(temporary, new JsonObject
        {
            ["tokens"] = new JsonArray(tokens.Select(t => (JsonNode)t).ToArray()),
            ["text"] = tokenizer.Decode(tokens.ToArray()),
        }.ToJsonString());
        File.Move(temporary, path, overwrite: true);
    }

    public static int[] LoadTokens(string directory, int vocabularySize)
    {
        string path = Path.Combine(directory, FileName);
        using var doc = JsonFile.Load(path, maxBytes: 1 << 20);
        if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty("tokens", out var list)
            || list.ValueKind != JsonValueKind.Array)
            throw new ModelFormatException(path, "expected {\"tokens\": [token ids], \"text\": …}.");
        var tokens = list.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out int id)
            && id >= 0 && id < vocabularySize
            ? id
            : throw new ModelFormatException(path,
                $"every token must be an id below the vocabulary's {vocabularySize}.")).ToArray();
        return tokens.Length > 0 ? tokens : throw new ModelFormatException(path, "the prompt has no tokens.");
    }

    /// <summary>The prompt as a frozen soft prompt holding its tokens' embeddings: the same forward pass as the
    /// text.</summary>
    public static PromptEmbedding Load(string directory, CausalLanguageModel model)
    {
        var tokens = LoadTokens(directory, model.Config.VocabSize);
        int d = model.Config.HiddenSize;
        var prompt = new PromptEmbedding(tokens.Length, d);
        for (int i = 0; i < tokens.Length; i++) model.TokenEmbedding.ReadOnlySpan.Slice(tokens[i] * d,
            d).CopyTo(prompt.Prompt.Span.Slice(i * d, d));
        return prompt;
    }
}
