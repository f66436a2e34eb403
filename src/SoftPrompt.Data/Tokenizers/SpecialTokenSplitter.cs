namespace SoftPrompt.Data.Tokenizers;

/// <summary>
/// Splits text around occurrences of special-token strings (longest match first), so that "&lt;s&gt;" typed in a text
/// becomes its single id and the pieces between go to the model's own encoder.
/// </summary>
public sealed class SpecialTokenSplitter
{
    private readonly SpecialToken[] _tokens;

    public SpecialTokenSplitter(IEnumerable<SpecialToken> tokens)
    {
        _tokens = tokens.Where(t => t.Content.Length > 0).OrderByDescending(t => t.Content.Length).ToArray();
    }

    public bool IsEmpty => _tokens.Length == 0;

    /// <summary>Encodes with <paramref name="encodePiece"/> (given the piece and whether it starts the text) between
    /// specials.</summary>
    public int[] Encode(string text, Func<string, bool, IEnumerable<int>> encodePiece)
    {
        if (_tokens.Length == 0) return encodePiece(text, true).ToArray();
        var ids = new List<int>();
        int start = 0, position = 0;
        while (position < text.Length)
        {
            var match = _tokens.FirstOrDefault(t => string.CompareOrdinal(text, position, t.Content, 0,
                t.Content.Length) == 0);
            if (match is null) { position++; continue; }
            if (position > start) ids.AddRange(encodePiece(text[start..position], start == 0));
            ids.Add(match.Id);
            position += match.Content.Length;
            start = position;
        }
        if (start < text.Length) ids.AddRange(encodePiece(text[start..], start == 0));
        return ids.ToArray();
    }
}
