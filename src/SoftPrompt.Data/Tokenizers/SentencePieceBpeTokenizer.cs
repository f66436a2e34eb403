using System.Text;

namespace SoftPrompt.Data.Tokenizers;

/// <summary>
/// SentencePiece-style BPE as LLaMA uses it: spaces become "▁", a "▁" is prepended to the text, characters outside
/// the vocabulary fall back to byte tokens &lt;0xNN&gt;, and adjacent pieces merge by merge rank (tokenizer.json) or by
/// the score of the merged piece (the vocabulary inside llama2.c/TinyStories files).
/// </summary>
public sealed class SentencePieceBpeTokenizer : ITokenizer
{
    public const char SpaceMark = '\u2581';

    private readonly string[] _pieces;
    private readonly Dictionary<string, int> _ids;
    private readonly float[]? _scores;
    private readonly Dictionary<(string, string), int>? _ranks;
    private readonly int[] _byteIds; // -1 where the vocabulary has no byte token
    private readonly HashSet<int> _specialIds;
    private readonly HashSet<int> _textIds; // added tokens that are text (decoded, not skipped)
    private readonly SpecialTokenSplitter _specials;
    private readonly int? _unknownId;
    // Hugging Face normalizes each piece between special tokens on its own, so each gets the "▁" prefix;
    // llama2.c prefixes only the start of the text.
    private readonly bool _prefixEverySegment;

    private SentencePieceBpeTokenizer(string[] pieces, float[]? scores, IReadOnlyList<(string, string)>? merges,
        IEnumerable<SpecialToken> specialTokens, bool addDummyPrefix, string? unknownPiece, bool prefixEverySegment)
    {
        _prefixEverySegment = prefixEverySegment;
        _pieces = pieces;
        _ids = new Dictionary<string, int>(pieces.Length);
        for (int i = 0; i < pieces.Length; i++) _ids.TryAdd(pieces[i], i);
        _scores = scores;
        if (merges is not null)
        {
            _ranks = new Dictionary<(string, string), int>(merges.Count);
            for (int i = 0; i < merges.Count; i++) _ranks.TryAdd(merges[i], i);
        }
        _byteIds = new int[256];
        for (int b = 0; b < 256; b++) _byteIds[b] = _ids.TryGetValue($"<0x{b:X2}>", out int id) ? id : -1;
        var specials = specialTokens.ToList();
        _specialIds = specials.Select(s => s.Id).ToHashSet();
        _textIds = specials.Where(s => !s.Special).Select(s => s.Id).ToHashSet();
        _specials = new SpecialTokenSplitter(specials);
        AddDummyPrefix = addDummyPrefix;
        _unknownId = unknownPiece is not null && _ids.TryGetValue(unknownPiece, out int unk) ? unk : null;
        (BosId, EosId, PadId) = SpecialTokenRoles.Find(TokenId);
    }

    /// <summary>llama2.c's vocabulary: pieces with scores; ids 0..2 are &lt;unk&gt;, &lt;s&gt;, &lt;/s&gt;.</summary>
    public static SentencePieceBpeTokenizer FromScores(string[] pieces, float[] scores)
    {
        if (pieces.Length != scores.Length)
            throw new ArgumentException($"{pieces.Length} pieces but {scores.Length} scores.");
        var specials = new[] { "<unk>", "<s>", "</s>" }
            .Select(p => Array.IndexOf(pieces, p)).Where(i => i >= 0).Select(i => new SpecialToken(i, pieces[i]));
        return new SentencePieceBpeTokenizer(pieces, scores, null, specials, addDummyPrefix: true,
            unknownPiece: "<unk>", prefixEverySegment: false);
    }

    /// <summary>A tokenizer.json BPE model with byte fallback: pieces by id, merges in rank order.</summary>
    public static SentencePieceBpeTokenizer FromMerges(string[] pieces, IReadOnlyList<(string, string)> merges,
        IEnumerable<SpecialToken> specialTokens, bool addDummyPrefix, string? unknownPiece)
        => new(pieces, null, merges, specialTokens, addDummyPrefix, unknownPiece, prefixEverySegment: true);

    public bool AddDummyPrefix { get; }
    public int VocabSize => _pieces.Length;
    public int? BosId { get; }
    public int? EosId { get; }
    public int? PadId { get; }

    public int? TokenId(string piece) => _ids.TryGetValue(piece, out int id) ? id : null;

    public int[] Encode(string text) => _specials.Encode(text, EncodePiece);

    private IEnumerable<int> EncodePiece(string text, bool startsText)
    {
        if (text.Length == 0) return Array.Empty<int>();
        string normalized = ((AddDummyPrefix && (startsText || _prefixEverySegment) ? " " : "") + text).Replace(' ',
            SpaceMark);
        var symbols = new List<string>();
        for (int i = 0; i < normalized.Length;)
        {
            int length = char.IsSurrogatePair(normalized, i) ? 2 : 1;
            symbols.Add(normalized.Substring(i, length));
            i += length;
        }
        BpeMerger.Merge(symbols, MergePriority);
        var ids = new List<int>(symbols.Count);
        foreach (var s in symbols)
        {
            if (_ids.TryGetValue(s, out int id)) { ids.Add(id); continue; }
            foreach (byte b in Encoding.UTF8.GetBytes(s))
            {
                if (_byteIds[b] >= 0) ids.Add(_byteIds[b]);
                else if (_unknownId is int unk) ids.Add(unk);
                else throw new InvalidOperationException(
                    $"'{s}' is not in the vocabulary, which has neither byte fallback nor an unknown token.");
            }
        }
        return ids;
    }

    private double? MergePriority(string left, string right)
    {
        if (_ranks is not null) return _ranks.TryGetValue((left, right), out int rank) ? rank : null;
        return _ids.TryGetValue(left + right, out int id) ? -_scores![id] : null;
    }

    public string Decode(IReadOnlyList<int> ids)
    {
        var bytes = new List<byte>();
        foreach (int id in ids)
        {
            if ((uint)id >= (uint)_pieces.Length)
                throw new ArgumentOutOfRangeException(nameof(ids),
                    $"Token id {id} is not in the vocabulary of {_pieces.Length}.");
            if (_specialIds.Contains(id) && !_textIds.Contains(id)) continue;
            int b = Array.IndexOf(_byteIds, id);
            if (b >= 0) bytes.Add((byte)b);
            else bytes.AddRange(Encoding.UTF8.GetBytes(_pieces[id].Replace(SpaceMark, ' ')));
        }
        string text = Encoding.UTF8.GetString(bytes.ToArray());
        return AddDummyPrefix && text.StartsWith(' ') ? text[1..] : text;
    }

    public string TokenText(int id)
    {
        if ((uint)id >= (uint)_pieces.Length)
            throw new ArgumentOutOfRangeException(nameof(id),
                $"Token id {id} is not in the vocabulary of {_pieces.Length}.");
        return _specialIds.Contains(id) ? _pieces[id] : _pieces[id].Replace(SpaceMark, ' ');
    }
}
