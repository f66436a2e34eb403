using System.Globalization;
using System.Text;

namespace SoftPrompt.Data.Tokenizers;

/// <summary>
/// BERT's WordPiece, as Hugging Face's tokenizer.json describes it: the BertNormalizer (control characters dropped,
/// CJK characters set apart, optionally lowercased with accents stripped), the BertPreTokenizer (whitespace and every
/// punctuation character split off), then each word cut greedily into the longest vocabulary pieces, pieces after the
/// first written with the "##" continuation prefix; a word that cannot be cut becomes [UNK] whole. Special tokens typed
/// in the text ("[MASK]" in a cloze template) are matched before normalisation, as HF does for unnormalised added
/// tokens.
/// </summary>
public sealed class WordPieceTokenizer : ITokenizer
{
    public const string ContinuationPrefix = "##";
    public static readonly string[] BertSpecialTokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];

    private readonly string[] _pieces;
    private readonly Dictionary<string, int> _ids;
    private readonly HashSet<int> _specialIds;
    private readonly SpecialTokenSplitter _specials;

    public WordPieceTokenizer(IReadOnlyDictionary<string, int> vocab, IEnumerable<SpecialToken> specialTokens,
        bool lowercase = true,
        string unknownToken = "[UNK]", int maxCharactersPerWord = 100)
    {
        var specials = specialTokens.ToList();
        int size = Math.Max(vocab.Values.DefaultIfEmpty(-1).Max(), specials.Select(s => s.Id).DefaultIfEmpty(-1).Max())
            + 1;
        _pieces = new string[size];
        foreach (var (piece, id) in vocab) _pieces[id] = piece;
        foreach (var s in specials) _pieces[s.Id] ??= s.Content;
        for (int i = 0; i < size; i++)
            if (_pieces[i] is null)
                throw new ArgumentException(
                    $"WordPiece vocabulary: no token has id {i}; ids must run 0..{size - 1} without gaps.");
        _ids = new Dictionary<string, int>(size);
        for (int i = 0; i < size; i++) _ids.TryAdd(_pieces[i], i);
        _specialIds = specials.Select(s => s.Id).ToHashSet();
        _specials = new SpecialTokenSplitter(specials);
        Lowercase = lowercase;
        MaxCharactersPerWord = maxCharactersPerWord;
        UnknownToken = unknownToken;
        UnknownId = TokenId(unknownToken) ?? throw new ArgumentException(
            $"WordPiece vocabulary has no unknown token \"{unknownToken}\".");
        PadId = TokenId("[PAD]");
        ClsId = TokenId("[CLS]");
        SepId = TokenId("[SEP]");
        MaskId = TokenId("[MASK]");
    }

    public bool Lowercase { get; }
    public int MaxCharactersPerWord { get; }
    public string UnknownToken { get; }
    public int UnknownId { get; }
    public int? ClsId { get; }
    public int? SepId { get; }
    public int? MaskId { get; }
    public int VocabSize => _pieces.Length;
    /// <summary>[CLS] opens a BERT sequence and [SEP] closes it, the roles BOS and EOS play for a decoder.</summary>
    public int? BosId => ClsId;
    public int? EosId => SepId;
    public int? PadId { get; }
    public IReadOnlyList<string> Pieces => _pieces;
    public IEnumerable<SpecialToken> SpecialTokens => _specialIds.Order().Select(id => new SpecialToken(id,
        _pieces[id]));

    public int? TokenId(string piece) => _ids.TryGetValue(piece, out int id) ? id : null;

    public int[] Encode(string text) => _specials.Encode(text, (segment, _) => EncodeWords(segment));

    private IEnumerable<int> EncodeWords(string text)
    {
        foreach (var word in PreTokenize(Normalize(text, Lowercase)))
            foreach (int id in EncodeWord(word)) yield return id;
    }

    // Greedy longest match from the left; one unmatched remainder makes the whole word unknown.
    private IEnumerable<int> EncodeWord(string word)
    {
        var runes = word.EnumerateRunes().Select(r => r.ToString()).ToArray();
        if (runes.Length > MaxCharactersPerWord) return [UnknownId];
        var ids = new List<int>();
        for (int start = 0; start < runes.Length;)
        {
            int end = runes.Length, found = -1;
            for (; end > start; end--)
            {
                string piece = string.Concat(runes[start..end]);
                if (start > 0) piece = ContinuationPrefix + piece;
                if (_ids.TryGetValue(piece, out int id) && !_specialIds.Contains(id)) { found = id; break; }
            }
            if (found < 0) return [UnknownId];
            ids.Add(found);
            start = end;
        }
        return ids;
    }

    /// <summary>HF's WordPiece decoder: pieces joined by spaces, "##" pieces glued to the one before, special tokens
    /// kept.</summary>
    public string Decode(IReadOnlyList<int> ids)
    {
        var text = new StringBuilder();
        foreach (int id in ids)
        {
            string piece = TokenText(id);
            if (piece.StartsWith(ContinuationPrefix) && text.Length > 0) text.Append(piece, ContinuationPrefix.Length,
                piece.Length - ContinuationPrefix.Length);
            else
            {
                if (text.Length > 0) text.Append(' ');
                text.Append(piece);
            }
        }
        return text.ToString();
    }

    public string TokenText(int id) =>
        (uint)id < (uint)_pieces.Length ? _pieces[id] : throw new ArgumentOutOfRangeException(nameof(id),
            $"Token id {id} is outside the vocabulary of {_pieces.Length}.");

    /// <summary>BertNormalizer: control characters dropped, whitespace made a space, CJK ideographs spaced apart, and
    /// with
    /// <paramref name="lowercase"/> lowercased with accents (combining marks after NFD) removed.</summary>
    public static string Normalize(string text, bool lowercase)
    {
        var result = new StringBuilder(text.Length);
        foreach (var rune in text.EnumerateRunes())
        {
            if (rune.Value == 0 || rune.Value == 0xFFFD || (IsControl(rune) && !Rune.IsWhiteSpace(rune))) continue;
            if (Rune.IsWhiteSpace(rune)) result.Append(' ');
            else if (IsCjk(rune.Value)) result.Append(' ').Append(rune.ToString()).Append(' ');
            else result.Append(rune.ToString());
        }
        if (!lowercase) return result.ToString();
        var stripped = new StringBuilder(result.Length);
        foreach (char c in result.ToString().ToLowerInvariant())
        {
            if (CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.NonSpacingMark) continue;
            char bare = c is >= AccentedFirst and < (char)(AccentedFirst + 400) ? AccentFree[c - AccentedFirst] : '.';
            stripped.Append(bare != '.' ? bare : c);
        }
        return stripped.ToString();
    }

    // The build runs with invariant globalization, where string.Normalize does not decompose, so accents are stripped
    // by table: for U+00C0…U+024F, the ASCII letter NFD leaves once combining marks are removed ('.' where it leaves
    // none). Combining marks typed on their own are dropped above; accents outside Latin stay.
    private const char AccentedFirst = '\u00C0';
    private const string AccentFree =
        "AAAAAA.CEEEEIIII.NOOOOO..UUUUY..aaaaaa.ceeeeiiii.nooooo..uuuuy.y" + // U+00C0…U+00FF
        "AaAaAaCcCcCcCcDd..EeEeEeEeEeGgGgGgGgHh..IiIiIiIiI...JjKk.LlLlLl." + // U+0100…U+013F
        "...NnNnNn...OoOoOo..RrRrRrSsSsSsSsTtTt..UuUuUuUuUuUuWwYyYZzZzZz." + // U+0140…U+017F
        "................................Oo.............Uu..............." + // U+0180…U+01BF
        ".............AaIiOoUuUuUuUuUu.AaAa....GgKkOoOo..j...Gg..NnAa...." + // U+01C0…U+01FF
        "AaAaEeEeIiIiOoOoRrRrUuUuSsTt..Hh......AaEeOoOoOoOoYy............" + // U+0200…U+023F
        "................"; // U+0240…U+024F

    /// <summary>BertPreTokenizer: words split at whitespace, every punctuation character a word of its own.</summary>
    public static IEnumerable<string> PreTokenize(string text)
    {
        var word = new StringBuilder();
        foreach (var rune in text.EnumerateRunes())
        {
            bool space = Rune.IsWhiteSpace(rune), punctuation = IsPunctuation(rune);
            if ((space || punctuation) && word.Length > 0)
            {
                yield return word.ToString();
                word.Clear();
            }
            if (punctuation) yield return rune.ToString();
            else if (!space) word.Append(rune.ToString());
        }
        if (word.Length > 0) yield return word.ToString();
    }

    // BERT counts all non-alphanumeric ASCII as punctuation ($, ^, `, … are symbols to Unicode), plus Unicode's P*.
    private static bool IsPunctuation(Rune rune)
    {
        int c = rune.Value;
        if (c is >= 33 and <= 47 or >= 58 and <= 64 or >= 91 and <= 96 or >= 123 and <= 126) return true;
        return Rune.GetUnicodeCategory(rune) is UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation
            or UnicodeCategory.OpenPunctuation or UnicodeCategory.ClosePunctuation
                or UnicodeCategory.InitialQuotePunctuation
            or UnicodeCategory.FinalQuotePunctuation or UnicodeCategory.OtherPunctuation;
    }

    private static bool IsControl(Rune rune) =>
        Rune.GetUnicodeCategory(rune) is UnicodeCategory.Control or UnicodeCategory.Format;

    private static bool IsCjk(int c) =>
        c is >= 0x4E00 and <= 0x9FFF or >= 0x3400 and <= 0x4DBF or >= 0x20000 and <= 0x2A6DF
            or >= 0x2A700 and <= 0x2B73F
            or >= 0x2B740 and <= 0x2B81F or >= 0x2B820 and <= 0x2CEAF or >= 0xF900 and <= 0xFAFF
                or >= 0x2F800 and <= 0x2FA1F;
}
