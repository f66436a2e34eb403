using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;

namespace SoftPrompt.Data.Tokenizers;

/// <summary>
/// GPT-2's byte-level BPE: text → pre-tokenizer pieces → UTF-8 bytes as mapped characters → merges by rank → ids.
/// Every byte is in the base vocabulary, so any text encodes without an unknown token.
/// </summary>
public sealed class ByteLevelBpeTokenizer : ITokenizer
{
    private readonly Dictionary<string, int> _vocab;
    private readonly string[] _tokens;
    private readonly Dictionary<(string, string), int> _ranks;
    private readonly SpecialTokenSplitter _specials;
    // Pre-tokenizer piece → ids. Words repeat (Zipf), so most lookups hit; cleared when full so that encoding a large
    // corpus cannot grow it without bound.
    private readonly ConcurrentDictionary<string, int[]> _cache = new();
    private const int CacheCapacity = 200_000;

    public ByteLevelBpeTokenizer(IReadOnlyDictionary<string, int> vocab, IReadOnlyList<(string Left,
        string Right)> merges,
        IEnumerable<SpecialToken>? specialTokens = null, string source = "tokenizer")
    {
        var specials = (specialTokens ?? Array.Empty<SpecialToken>()).ToList();
        _vocab = new Dictionary<string, int>(vocab);
        foreach (var s in specials) _vocab.TryAdd(s.Content, s.Id);
        int size = _vocab.Values.DefaultIfEmpty(-1).Max() + 1;
        _tokens = new string[size];
        foreach (var (token, id) in _vocab)
        {
            if (id < 0) throw new InvalidDataException($"{source}: token '{token}' has negative id {id}.");
            _tokens[id] = token;
        }
        for (int b = 0; b < 256; b++)
            if (!_vocab.ContainsKey(ByteLevelEncoding.CharOf((byte)b).ToString()))
                throw new InvalidDataException(
                    $"{source}: the vocabulary lacks the byte-level base token for byte 0x{b:X2}.");
        _ranks = new Dictionary<(string, string), int>(merges.Count);
        for (int i = 0; i < merges.Count; i++) _ranks.TryAdd(merges[i], i);
        Merges = merges.ToArray();
        SpecialTokens = specials;
        _specials = new SpecialTokenSplitter(specials);
        (BosId, EosId, PadId) = SpecialTokenRoles.Find(TokenId);
    }

    /// <summary>The original GPT-2 files: encoder.json (token → id) and vocab.bpe (one merge per line after a version
    /// line).</summary>
    public static ByteLevelBpeTokenizer FromGpt2Files(string encoderJsonPath, string vocabBpePath)
    {
        Dictionary<string, int> vocab;
        try
        {
            using var stream = File.OpenRead(encoderJsonPath);
            vocab = JsonSerializer.Deserialize<Dictionary<string, int>>(stream)
                    ?? throw new InvalidDataException($"{encoderJsonPath}: empty vocabulary.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{encoderJsonPath}: not a JSON object of token → id ({e.Message}).", e);
        }
        var merges = new List<(string, string)>();
        int lineNumber = 0;
        foreach (var line in File.ReadLines(vocabBpePath))
        {
            lineNumber++;
            if (line.StartsWith("#version") || line.Length == 0) continue;
            int space = line.IndexOf(' ');
            if (space <= 0 || space == line.Length - 1 || line.IndexOf(' ', space + 1) >= 0)
                throw new InvalidDataException(
                    $"{vocabBpePath}, line {lineNumber}: expected two tokens separated by one space, got '{line}'.");
            merges.Add((line[..space], line[(space + 1)..]));
        }
        var specials = vocab.TryGetValue("<|endoftext|>", out int eot) ? new[] { new SpecialToken(eot,
            "<|endoftext|>") } : null;
        return new ByteLevelBpeTokenizer(vocab, merges, specials, encoderJsonPath);
    }

    public int VocabSize => _tokens.Length;
    public int? BosId { get; }
    public int? EosId { get; }
    public int? PadId { get; }
    public IReadOnlyList<(string Left, string Right)> Merges { get; }
    public IReadOnlyList<SpecialToken> SpecialTokens { get; }
    /// <summary>Token string (byte-level characters) → id, including special tokens.</summary>
    public IReadOnlyDictionary<string, int> Vocabulary => _vocab;

    public int? TokenId(string piece) => _vocab.TryGetValue(piece, out int id) ? id : null;

    /// <summary>The pre-tokenizer tokenizer.json names (Llama 3, Qwen); GPT-2's when null.</summary>
    public RegexPreTokenizer? PreTokenizer { get; init; }
    /// <summary>Text between added tokens is NFC-normalized first (Qwen).</summary>
    public bool NormalizeToNfc { get; init; }
    /// <summary>A piece that is itself in the vocabulary is one token, whatever the merges would make of it (Llama
    /// 3).</summary>
    public bool IgnoreMerges { get; init; }

    public int[] Encode(string text) => _specials.Encode(text, (piece, _) => EncodeOrdinary(piece));

    private IEnumerable<int> EncodeOrdinary(string text)
    {
        if (NormalizeToNfc) text = UnicodeNormalization.Normalize(text, NormalizationForm.FormC);
        foreach (var word in PreTokenizer?.Split(text) ?? Gpt2PreTokenizer.Split(text))
        {
            if (!_cache.TryGetValue(word, out var ids))
            {
                ids = EncodeWord(word);
                if (_cache.Count >= CacheCapacity) _cache.Clear();
                _cache[word] = ids;
            }
            foreach (int id in ids) yield return id;
        }
    }

    private int[] EncodeWord(string word)
    {
        string mapped = ByteLevelEncoding.TextToTokenString(word);
        if (IgnoreMerges && _vocab.TryGetValue(mapped, out int whole)) return new[] { whole };
        var symbols = mapped.Select(c => c.ToString()).ToList();
        BpeMerger.Merge(symbols, (a, b) => _ranks.TryGetValue((a, b), out int rank) ? rank : null);
        return symbols.Select(s => _vocab[s]).ToArray();
    }

    public string Decode(IReadOnlyList<int> ids)
    {
        var bytes = new List<byte>();
        foreach (int id in ids) ByteLevelEncoding.TokenStringToBytes(Token(id), bytes);
        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    public string TokenText(int id)
    {
        string token = Token(id);
        return SpecialTokens.Any(s => s.Id == id) ? token : Decode(new[] { id });
    }

    private string Token(int id)
    {
        if ((uint)id >= (uint)_tokens.Length || _tokens[id] is null)
            throw new ArgumentOutOfRangeException(nameof(id),
                $"Token id {id} is not in the vocabulary of {_tokens.Length}.");
        return _tokens[id];
    }
}
