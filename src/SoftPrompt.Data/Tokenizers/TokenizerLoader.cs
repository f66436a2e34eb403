namespace SoftPrompt.Data.Tokenizers;

/// <summary>Finds and reads a tokenizer: a tokenizer.json file, or a directory with tokenizer.json or GPT-2's
/// encoder.json + vocab.bpe.</summary>
public static class TokenizerLoader
{
    public static ITokenizer Load(string path) =>
        TryLoad(path) ?? throw new FileNotFoundException(
            Directory.Exists(path)
                ? $"No tokenizer in '{path}': expected tokenizer.json, or encoder.json and vocab.bpe."
                : $"No tokenizer at '{path}'.", path);

    /// <summary>The tokenizer at the path, or null when the directory has none.</summary>
    public static ITokenizer? TryLoad(string path)
    {
        if (File.Exists(path)) return TokenizerJson.Read(path);
        if (!Directory.Exists(path)) return null;
        string json = Path.Combine(path, TokenizerJson.FileName);
        if (File.Exists(json)) return TokenizerJson.Read(json);
        string encoder = Path.Combine(path, "encoder.json"), merges = Path.Combine(path, "vocab.bpe");
        bool hasEncoder = File.Exists(encoder), hasMerges = File.Exists(merges);
        if (hasEncoder && hasMerges) return ByteLevelBpeTokenizer.FromGpt2Files(encoder, merges);
        // Half of GPT-2's pair is a broken tokenizer, not an absent one.
        if (hasEncoder || hasMerges)
        {
            string missing = hasEncoder ? merges : encoder;
            throw new FileNotFoundException(
                $"'{missing}' is missing: GPT-2's tokenizer needs encoder.json and vocab.bpe together.", missing);
        }
        return null;
    }
}
