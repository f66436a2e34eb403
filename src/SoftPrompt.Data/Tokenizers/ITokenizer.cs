namespace SoftPrompt.Data.Tokenizers;

/// <summary>Text ↔ token ids. Encode adds no BOS/EOS: callers decide where a sequence starts and ends.</summary>
public interface ITokenizer
{
    int VocabSize { get; }
    int[] Encode(string text);
    /// <summary>Text of the ids; bytes that do not form valid UTF-8 become U+FFFD.</summary>
    string Decode(IReadOnlyList<int> ids);
    /// <summary>A readable form of one token (spaces shown as they decode), for listings such as nearest
    /// tokens.</summary>
    string TokenText(int id);
    int? TokenId(string piece);
    int? BosId { get; }
    int? EosId { get; }
    int? PadId { get; }
}

/// <summary>Tokens matched as whole strings before the model's own splitting (&lt;s&gt;, &lt;|endoftext|&gt;,
/// ...).</summary>
/// <param name="Special">False for added tokens that are ordinary text (Gemma's runs of "▁"): matched whole like the
/// others, but decoded as their text.</param>
public sealed record SpecialToken(int Id, string Content, bool Special = true);

/// <summary>Finding the usual BOS/EOS/PAD among special tokens by their conventional spellings.</summary>
public static class SpecialTokenRoles
{
    private static readonly string[] Bos = { "<s>", "<|begin_of_text|>", "<|startoftext|>", "<bos>" };
    private static readonly string[] Eos = { "</s>", "<|endoftext|>", "<|end_of_text|>", "<eos>" };
    private static readonly string[] Pad = { "<pad>", "<|pad|>", "[PAD]" };

    public static (int? Bos, int? Eos, int? Pad) Find(Func<string, int?> lookup) =>
        (First(Bos, lookup), First(Eos, lookup), First(Pad, lookup));

    private static int? First(string[] names, Func<string, int?> lookup)
    {
        foreach (var n in names) if (lookup(n) is int id) return id;
        return null;
    }
}
