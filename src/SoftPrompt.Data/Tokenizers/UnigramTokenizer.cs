using System.Text;

namespace SoftPrompt.Data.Tokenizers;

/// <summary>
/// SentencePiece's Unigram model as a Hugging Face tokenizer.json describes it (T5, mT5, ALBERT, XLNet...): each
/// pre-tokenized word is cut into the pieces whose summed log-probability scores are highest (Viterbi). A character no
/// piece of its own covers is unknown, scored as the lowest piece score less 10 (SentencePiece's penalty); a run of
/// unknown characters becomes one &lt;unk&gt;, or with byte fallback the &lt;0xNN&gt; pieces of its UTF-8 bytes (one
/// &lt;unk&gt; if any byte lacks a piece). Added tokens are matched whole in the text before normalization.
/// </summary>
public sealed class UnigramTokenizer : ITokenizer
{
    private const double UnknownPenalty = 10.0;

    private readonly string[] _pieces;
    private readonly double[] _scores;
    private readonly Dictionary<string, int> _ids;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _idsBySpan;
    private readonly int _longestPiece; // in UTF-16 units: no piece starting at a position can be longer
    private readonly double _unknownScore;
    private readonly int[] _byteIds; // -1 where the vocabulary has no <0xNN> piece
    private readonly Dictionary<string, int> _addedIds;
    private readonly HashSet<int> _skippedInDecode;
    private readonly SpecialTokenSplitter _specials;
    private readonly TokenizerPipeline _pipeline;

    /// <param name="vocab">Pieces and scores by id (the model's vocab); added tokens beyond it extend the id
    /// range.</param>
    /// <param name="specialTokens">Added tokens, split out of the text whole.</param>
    /// <param name="decodeSkips">Ids that decoding leaves out (the added tokens marked special).</param>
    /// <param name="source">Named in errors.</param>
    public UnigramTokenizer(IReadOnlyList<(string Piece, double Score)> vocab, int? unknownId, bool byteFallback,
        IEnumerable<SpecialToken> specialTokens, IEnumerable<int> decodeSkips, TokenizerPipeline pipeline,
            string source = "tokenizer")
    {
        var specials = specialTokens.ToList();
        int size = Math.Max(vocab.Count, specials.Select(s => s.Id + 1).DefaultIfEmpty(0).Max());
        _pieces = new string[size];
        _scores = new double[vocab.Count];
        _ids = new Dictionary<string, int>(size);
        for (int i = 0; i < vocab.Count; i++)
        {
            (_pieces[i], _scores[i]) = vocab[i];
            if (!double.IsFinite(_scores[i]))
                throw new InvalidDataException($"{source}: piece {i} ('{_pieces[i]}') has score {_scores[i]}.");
            _ids[_pieces[i]] = i; // a piece listed twice takes its last id, as in Hugging Face
            _longestPiece = Math.Max(_longestPiece, _pieces[i].Length);
        }
        foreach (var s in specials) _pieces[s.Id] ??= s.Content;
        for (int i = 0; i < size; i++)
            if (_pieces[i] is null)
                throw new InvalidDataException(
                    $"{source}: no token has id {i}; ids must run 0..{size - 1} without gaps.");
        _idsBySpan = _ids.GetAlternateLookup<ReadOnlySpan<char>>();
        _unknownScore = _scores.DefaultIfEmpty(0).Min() - UnknownPenalty;
        if (unknownId is int unk && (uint)unk >= (uint)vocab.Count)
            throw new InvalidDataException(
                $"{source}: unk_id {unk} is outside the vocabulary of {vocab.Count} pieces.");
        UnknownId = unknownId;
        ByteFallback = byteFallback;
        _byteIds = new int[256];
        for (int b = 0; b < 256; b++) _byteIds[b] = byteFallback && _ids.TryGetValue($"<0x{b:X2}>", out int id) ? id
            : -1;
        _specials = new SpecialTokenSplitter(specials);
        _addedIds = new Dictionary<string, int>();
        foreach (var s in specials) _addedIds.TryAdd(s.Content, s.Id);
        _skippedInDecode = decodeSkips.ToHashSet();
        _pipeline = pipeline;
        foreach (int id in pipeline.TemplatePrefix.Concat(pipeline.TemplateSuffix))
            if ((uint)id >= (uint)size)
                throw new InvalidDataException(
                    $"{source}: the post-processor's template uses id {id}, outside the vocabulary of {size}.");
        var (bos, eos, pad) = SpecialTokenRoles.Find(TokenId);
        // The template says what surrounds a sequence: T5's "$A </s>" has an EOS and no BOS.
        bool hasTemplate = pipeline.TemplatePrefix.Count + pipeline.TemplateSuffix.Count > 0;
        BosId = hasTemplate ? pipeline.TemplatePrefix.Count > 0 ? pipeline.TemplatePrefix[0] : null : bos;
        EosId = hasTemplate ? pipeline.TemplateSuffix.Count > 0 ? pipeline.TemplateSuffix[^1] : null : eos;
        PadId = pad;
    }

    public int VocabSize => _pieces.Length;
    public int? BosId { get; }
    public int? EosId { get; }
    public int? PadId { get; }
    public int? UnknownId { get; }
    public bool ByteFallback { get; }
    public IReadOnlyList<string> Pieces => _pieces;
    /// <summary>What the post-processor puts around one sequence (T5: nothing before, &lt;/s&gt; after).</summary>
    public IReadOnlyList<int> SequencePrefix => _pipeline.TemplatePrefix;
    public IReadOnlyList<int> SequenceSuffix => _pipeline.TemplateSuffix;

    public int? TokenId(string piece) => _addedIds.TryGetValue(piece, out int id) || _ids.TryGetValue(piece, out id)
        ? id : null;

    public int[] Encode(string text) => _specials.Encode(text, EncodeSegment);

    /// <summary>The ids with the post-processor's special tokens around them, as Hugging Face's encode does by
    /// default.</summary>
    public int[] EncodeSequence(string text) => [.. SequencePrefix, .. Encode(text), .. SequenceSuffix];

    private IEnumerable<int> EncodeSegment(string text, bool startsText)
    {
        var ids = new List<int>();
        foreach (var word in _pipeline.Words(text, startsText)) EncodeWord(word, ids);
        return ids;
    }

    private void EncodeWord(string word, List<int> ids)
    {
        // best[end]: the best-scoring segmentation of word[..end], as its score and its last piece (start, id).
        int n = word.Length;
        var score = new double[n + 1];
        var start = new int[n + 1];
        var piece = new int[n + 1];
        Array.Fill(start, -1);
        start[0] = 0;
        for (int i = 0; i < n; i++)
        {
            if (start[i] < 0) continue; // inside a surrogate pair
            int charLength = char.IsSurrogatePair(word, i) ? 2 : 1;
            bool hasSingle = false;
            // Shorter pieces first and strict improvement only: ties keep the first path found, as Hugging Face's does.
            for (int length = 1; length <= Math.Min(_longestPiece, n - i); length++)
            {
                if (!_idsBySpan.TryGetValue(word.AsSpan(i, length), out int id)) continue;
                Relax(i, i + length, id, _scores[id]);
                hasSingle |= length == charLength;
            }
            if (!hasSingle)
            {
                int unknown = UnknownId ?? throw new InvalidOperationException(
                    $"'{word.Substring(i, charLength)}' is not in the vocabulary, which has no unknown token.");
                Relax(i, i + charLength, unknown, _unknownScore);
            }
        }

        void Relax(int from, int to, int id, double pieceScore)
        {
            double candidate = score[from] + pieceScore;
            if (start[to] >= 0 && candidate <= score[to]) return;
            score[to] = candidate;
            start[to] = from;
            piece[to] = id;
        }

        // Back from the end; adjacent unknown pieces are fused into one stretch of text.
        var found = new List<(int Start, int End, bool Unknown)>();
        for (int end = n; end > 0; end = start[end])
        {
            bool unknown = piece[end] == UnknownId;
            if (unknown && found.Count > 0 && found[^1].Unknown) found[^1] = (start[end], found[^1].End, true);
            else found.Add((start[end], end, unknown));
        }
        for (int k = found.Count - 1; k >= 0; k--)
        {
            var (from, to, unknown) = found[k];
            if (!unknown) { ids.Add(piece[to]); continue; }
            AddUnknown(word[from..to], ids);
        }
    }

    private void AddUnknown(string text, List<int> ids)
    {
        if (_ids.TryGetValue(text, out int id)) { ids.Add(id); return; }
        if (ByteFallback)
        {
            byte[] bytes = Encoding.UTF8.GetBytes(text);
            if (bytes.All(b => _byteIds[b] >= 0))
            {
                foreach (byte b in bytes) ids.Add(_byteIds[b]);
                return;
            }
        }
        ids.Add(UnknownId!.Value);
    }

    /// <summary>The pieces of the ids (added tokens marked special left out) through the decoder.</summary>
    public string Decode(IReadOnlyList<int> ids)
    {
        var pieces = new List<string>(ids.Count);
        foreach (int id in ids)
            if (!_skippedInDecode.Contains(Check(id))) pieces.Add(_pieces[id]);
        return _pipeline.Decode(pieces);
    }

    public string TokenText(int id)
    {
        string piece = _pieces[Check(id)];
        return _skippedInDecode.Contains(id) || _pipeline.SpaceMarkUsed is not char mark ? piece : piece.Replace(mark,
            ' ');
    }

    private int Check(int id) => (uint)id < (uint)_pieces.Length
        ? id
        : throw new ArgumentOutOfRangeException(nameof(id),
            $"Token id {id} is not in the vocabulary of {_pieces.Length}.");
}
