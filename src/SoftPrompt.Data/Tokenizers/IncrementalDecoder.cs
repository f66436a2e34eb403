namespace SoftPrompt.Data.Tokenizers;

/// <summary>
/// The text of tokens arriving one at a time, as pieces to show. Decoding the whole sequence each time (rather than the
/// newest token alone) keeps word-initial spaces and multi-byte characters split across tokens right; a token that
/// only starts a character shows nothing until the character is complete.
/// </summary>
public sealed class IncrementalDecoder
{
    private readonly ITokenizer _tokenizer;
    private readonly List<int> _ids;
    private string _shown;

    /// <param name="context">Tokens already shown (e.g. the prompt), decoded with the new ones but not
    /// returned.</param>
    public IncrementalDecoder(ITokenizer tokenizer, IReadOnlyList<int>? context = null)
    {
        _tokenizer = tokenizer;
        _ids = new List<int>(context ?? Array.Empty<int>());
        _shown = tokenizer.Decode(_ids);
    }

    /// <summary>The text <paramref name="id"/> adds to what is shown; empty while a character is incomplete.</summary>
    public string Add(int id)
    {
        _ids.Add(id);
        string decoded = _tokenizer.Decode(_ids);
        // Bytes of an unfinished character decode as U+FFFD until the token that completes them arrives.
        if (decoded.EndsWith('\uFFFD') || decoded.Length <= _shown.Length || !decoded.StartsWith(_shown,
            StringComparison.Ordinal)) return "";
        string piece = decoded[_shown.Length..];
        _shown = decoded;
        return piece;
    }
}
