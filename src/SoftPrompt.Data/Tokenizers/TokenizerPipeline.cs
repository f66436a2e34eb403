using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace SoftPrompt.Data.Tokenizers;

/// <summary>A piece of text on its way to the model, and whether it starts the text (Metaspace's "first" scheme
/// asks).</summary>
public readonly record struct TextSplit(string Text, bool StartsText);

/// <summary>
/// The stages around a tokenizer.json model, as Hugging Face's tokenizers library runs them: the normalizer rewrites
/// the text, the pre-tokenizer cuts it into words the model encodes one by one, the decoder turns token pieces back
/// into text, and the post-processor's template says which special tokens surround a sequence.
/// </summary>
public sealed class TokenizerPipeline
{
    private TokenizerPipeline(Func<string, string> normalize, Func<List<TextSplit>, List<TextSplit>> preTokenize,
        Func<List<string>, List<string>>? decode, char? spaceMark, int[] prefix, int[] suffix)
    {
        Normalize = normalize;
        _preTokenize = preTokenize;
        _decode = decode;
        SpaceMarkUsed = spaceMark;
        TemplatePrefix = prefix;
        TemplateSuffix = suffix;
    }

    private readonly Func<List<TextSplit>, List<TextSplit>> _preTokenize;
    private readonly Func<List<string>, List<string>>? _decode;

    public Func<string, string> Normalize { get; }
    /// <summary>The character Metaspace writes for a space, when the pipeline has Metaspace.</summary>
    public char? SpaceMarkUsed { get; }
    /// <summary>Ids of the special tokens the post-processor puts before and after a single sequence ($A).</summary>
    public IReadOnlyList<int> TemplatePrefix { get; }
    public IReadOnlyList<int> TemplateSuffix { get; }

    /// <summary>Normalized, pre-tokenized words of one stretch of text between special tokens; empty words are
    /// dropped.</summary>
    public List<string> Words(string text, bool startsText)
    {
        var splits = _preTokenize([new TextSplit(Normalize(text), startsText)]);
        return splits.Where(s => s.Text.Length > 0).Select(s => s.Text).ToList();
    }

    /// <summary>The decoder applied to token pieces; without one, pieces are joined by spaces as Hugging Face
    /// does.</summary>
    public string Decode(List<string> pieces) => _decode is null ? string.Join(' ', pieces)
        : string.Concat(_decode(pieces));

    private static readonly string[] Normalizers = ["Sequence", "Precompiled", "Replace", "Strip", "NFC", "NFD", "NFKC",
        "NFKD", "Lowercase", "Prepend", "StripAccents"];
    private static readonly string[] PreTokenizers = ["Sequence", "Metaspace", "WhitespaceSplit"];
    private static readonly string[] Decoders = ["Sequence", "Metaspace", "ByteFallback", "Fuse", "Strip", "Replace"];
    private static readonly string[] PostProcessors = ["TemplateProcessing", "BertProcessing", "RobertaProcessing"];

    /// <summary>Reads the normalizer, pre_tokenizer, decoder and post_processor of a tokenizer.json root.</summary>
    /// <exception cref="InvalidDataException">A stage is malformed or of a type not supported; the message names
    /// <paramref name="path"/>.</exception>
    /// <param name="lookup">Token content → id, for template tokens given by content alone.</param>
    public static TokenizerPipeline Read(JsonNode root, string path, Func<string, int?> lookup)
    {
        char? spaceMark = null;
        var normalize = ReadNormalizer(root["normalizer"], path);
        var preTokenize = ReadPreTokenizer(root["pre_tokenizer"], path, ref spaceMark);
        var decode = ReadDecoder(root["decoder"], path, ref spaceMark);
        var (prefix, suffix) = ReadTemplate(root["post_processor"], path, lookup);
        return new TokenizerPipeline(normalize, preTokenize, decode, spaceMark, prefix, suffix);
    }

    private static string TypeOf(JsonNode node, string stage, string[] supported, string path)
    {
        string type = (string?)node["type"] ?? throw new InvalidDataException($"{path}: a {stage} has no \"type\".");
        if (!supported.Contains(type))
            throw new InvalidDataException(
                $"{path}: {stage} \"{type}\" is not supported (supported: {string.Join(", ", supported)}).");
        return type;
    }

    private static JsonArray ArrayOf(JsonNode node, string key, string stage, string path) =>
        node[key] as JsonArray ?? throw new InvalidDataException($"{path}: {stage} Sequence has no \"{key}\" array.");

    private static Func<string, string> ReadNormalizer(JsonNode? node, string path)
    {
        if (node is null) return text => text;
        switch (TypeOf(node, "normalizer", Normalizers, path))
        {
            case "Sequence":
            {
                var steps = ArrayOf(node, "normalizers", "normalizer", path).Select(n => ReadNormalizer(n, path))
                    .ToArray();
                return text => steps.Aggregate(text, (t, step) => step(t));
            }
            case "Precompiled":
            {
                string encoded = (string?)node["precompiled_charsmap"] ?? throw new InvalidDataException(
                    $"{path}: Precompiled normalizer has no precompiled_charsmap.");
                byte[] blob;
                try { blob = Convert.FromBase64String(encoded); }
                catch (FormatException) { throw new InvalidDataException(
                    $"{path}: Precompiled normalizer's precompiled_charsmap is not valid base64."); }
                return PrecompiledCharsmap.Parse(blob, path).Normalize;
            }
            case "Replace":
                return ReadReplace(node, "normalizer", path);
            case "Strip":
            {
                bool left = (bool?)node["strip_left"] ?? false, right = (bool?)node["strip_right"] ?? false;
                return text => (left, right) switch
                {
                    (true, true) => text.Trim(),
                    (true, false) => text.TrimStart(),
                    (false, true) => text.TrimEnd(),
                    _ => text,
                };
            }
            case "Lowercase":
                return text => text.ToLowerInvariant();
            case "StripAccents":
                // Hugging Face drops the non-spacing marks; with NFD or NFKD before it, that takes accents off letters.
                return text => string.Concat(text.EnumerateRunes()
                    .Where(r => Rune.GetUnicodeCategory(r) != System.Globalization.UnicodeCategory.NonSpacingMark)
                        .Select(r => r.ToString()));
            case "Prepend":
            {
                string prepend = (string?)node["prepend"] ?? throw new InvalidDataException(
                    $"{path}: Prepend normalizer has no \"prepend\".");
                return text => text.Length == 0 ? text : prepend + text;
            }
            default:
                return UnicodeNormalizer((string)node["type"]!);
        }
    }

    private static Func<string, string> UnicodeNormalizer(string type)
    {
        var form = type switch
        {
            "NFC" => NormalizationForm.FormC,
            "NFD" => NormalizationForm.FormD,
            "NFKC" => NormalizationForm.FormKC,
            _ => NormalizationForm.FormKD,
        };
        return text => UnicodeNormalization.Normalize(text, form);
    }

    private static Func<string, string> ReadReplace(JsonNode node, string stage, string path)
    {
        string content = (string?)node["content"] ?? throw new InvalidDataException(
            $"{path}: Replace {stage} has no \"content\".");
        var pattern = node["pattern"] ?? throw new InvalidDataException($"{path}: Replace {stage} has no \"pattern\".");
        if ((string?)pattern["String"] is string literal)
            return literal.Length == 0 ? text => text : text => text.Replace(literal, content,
                StringComparison.Ordinal);
        string regex = (string?)pattern["Regex"] ?? throw new InvalidDataException(
            $"{path}: Replace {stage} pattern is neither {{\"String\": …}} nor {{\"Regex\": …}}.");
        Regex compiled;
        try
        {
            compiled = new Regex(regex, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException(
                $"{path}: Replace {stage} pattern /{regex}/ is not a valid regular expression ({e.Message}).", e);
        }
        // Replacement text is literal in Hugging Face's Replace: "$" must not name a group here.
        string escaped = content.Replace("$", "$$");
        return text => compiled.Replace(text, escaped);
    }

    private static Func<List<TextSplit>, List<TextSplit>> ReadPreTokenizer(JsonNode? node, string path,
        ref char? spaceMark)
    {
        if (node is null) return splits => splits;
        switch (TypeOf(node, "pre_tokenizer", PreTokenizers, path))
        {
            case "Sequence":
            {
                var steps = new List<Func<List<TextSplit>, List<TextSplit>>>();
                foreach (var n in ArrayOf(node, "pretokenizers", "pre_tokenizer", path)) steps.Add(ReadPreTokenizer(n,
                    path, ref spaceMark));
                return splits => steps.Aggregate(splits, (s, step) => step(s));
            }
            case "WhitespaceSplit":
                return splits => splits.SelectMany(SplitOnWhitespace).ToList();
            default:
            {
                var (mark, scheme) = ReadMetaspace(node, path);
                spaceMark = mark;
                bool split = (bool?)node["split"] ?? true;
                return splits => splits.SelectMany(s => Metaspace(s, mark, scheme, split)).ToList();
            }
        }
    }

    private enum PrependScheme { Always, First, Never }

    private static (char Mark, PrependScheme Scheme) ReadMetaspace(JsonNode node, string path)
    {
        string replacement = (string?)node["replacement"] ?? (string?)node["str_rep"]
            ?? SentencePieceBpeTokenizer.SpaceMark.ToString();
        if (replacement.Length != 1)
            throw new InvalidDataException($"{path}: Metaspace replacement \"{replacement}\" is not one character.");
        var scheme = (string?)node["prepend_scheme"] switch
        {
            "always" => PrependScheme.Always,
            "first" => PrependScheme.First,
            "never" => PrependScheme.Never,
            null => (bool?)node["add_prefix_space"] ?? true ? PrependScheme.Always : PrependScheme.Never,
            var other => throw new InvalidDataException(
                $"{path}: Metaspace prepend_scheme \"{other}\" is not always, first or never."),
        };
        return (replacement[0], scheme);
    }

    // Hugging Face's WhitespaceSplit: runs of whitespace removed, the words between kept.
    private static IEnumerable<TextSplit> SplitOnWhitespace(TextSplit split)
    {
        string text = split.Text;
        for (int i = 0; i < text.Length;)
        {
            if (char.IsWhiteSpace(text[i])) { i++; continue; }
            int start = i;
            while (i < text.Length && !char.IsWhiteSpace(text[i])) i++;
            yield return new TextSplit(text[start..i], split.StartsText && start == 0);
        }
    }

    // Spaces become the mark, the mark is prepended where the scheme says, and with split each mark starts a new word.
    private static IEnumerable<TextSplit> Metaspace(TextSplit split, char mark, PrependScheme scheme, bool splitWords)
    {
        string text = split.Text.Replace(' ', mark);
        if (text.Length == 0) yield break;
        bool prepend = scheme == PrependScheme.Always || scheme == PrependScheme.First && split.StartsText;
        if (prepend && text[0] != mark) text = mark + text;
        if (!splitWords)
        {
            yield return split with { Text = text };
            yield break;
        }
        int start = 0;
        for (int i = 1; i <= text.Length; i++)
        {
            if (i < text.Length && text[i] != mark) continue;
            yield return new TextSplit(text[start..i], split.StartsText && start == 0);
            start = i;
        }
    }

    private static Func<List<string>, List<string>>? ReadDecoder(JsonNode? node, string path, ref char? spaceMark)
    {
        if (node is null) return null;
        switch (TypeOf(node, "decoder", Decoders, path))
        {
            case "Sequence":
            {
                var steps = new List<Func<List<string>, List<string>>>();
                foreach (var n in ArrayOf(node, "decoders", "decoder", path))
                    if (ReadDecoder(n, path, ref spaceMark) is { } step) steps.Add(step);
                return pieces => steps.Aggregate(pieces, (p, step) => step(p));
            }
            case "Metaspace":
            {
                var (mark, scheme) = ReadMetaspace(node, path);
                spaceMark ??= mark;
                // As Hugging Face does: in the first piece every mark is dropped (the prepended one is what it is for).
                return pieces => pieces.Select((piece, i) =>
                    i == 0 && scheme != PrependScheme.Never ? piece.Replace(mark.ToString(), "") : piece.Replace(mark,
                        ' ')).ToList();
            }
            case "ByteFallback":
                return ByteFallback;
            case "Fuse":
                return pieces => [string.Concat(pieces)];
            case "Strip":
            {
                string content = (string?)node["content"] ?? " ";
                if (content.Length != 1)
                    throw new InvalidDataException(
                        $"{path}: Strip decoder content \"{content}\" is not one character.");
                int start = (int?)node["start"] ?? 0, stop = (int?)node["stop"] ?? 0;
                if (start < 0 || stop < 0)
                    throw new InvalidDataException($"{path}: Strip decoder start/stop must not be negative.");
                return pieces => pieces.Select(p => StripPiece(p, content[0], start, stop)).ToList();
            }
            default:
            {
                var replace = ReadReplace(node, "decoder", path);
                return pieces => pieces.Select(replace).ToList();
            }
        }
    }

    private static string StripPiece(string piece, char content, int start, int stop)
    {
        int from = 0, to = piece.Length;
        while (from < to && from < start && piece[from] == content) from++;
        while (to > from && piece.Length - to < stop && piece[to - 1] == content) to--;
        return piece[from..to];
    }

    /// <summary>Runs of &lt;0xNN&gt; pieces become the text of their bytes; bytes that are not valid UTF-8 become one
    /// U+FFFD each.</summary>
    private static List<string> ByteFallback(List<string> pieces)
    {
        var result = new List<string>(pieces.Count);
        var bytes = new List<byte>();
        var strict = new UTF8Encoding(false, throwOnInvalidBytes: true);
        void Flush()
        {
            if (bytes.Count == 0) return;
            try { result.Add(strict.GetString(bytes.ToArray())); }
            catch (DecoderFallbackException) { result.AddRange(Enumerable.Repeat("\uFFFD", bytes.Count)); }
            bytes.Clear();
        }
        foreach (var piece in pieces)
        {
            if (ByteOfPiece(piece) is byte b) { bytes.Add(b); continue; }
            Flush();
            result.Add(piece);
        }
        Flush();
        return result;
    }

    // The byte of a byte-fallback piece "<0xNN>", or null for any other piece.
    private static byte? ByteOfPiece(string piece) =>
        piece.Length == 6 && piece.StartsWith("<0x", StringComparison.Ordinal) && piece[5] == '>' &&
        byte.TryParse(piece.AsSpan(3, 2), System.Globalization.NumberStyles.AllowHexSpecifier, null, out byte b) ? b
            : null;

    private static (int[] Prefix, int[] Suffix) ReadTemplate(JsonNode? node, string path, Func<string, int?> lookup)
    {
        if (node is null) return ([], []);
        string type = TypeOf(node, "post_processor", PostProcessors, path);
        if (type is "BertProcessing" or "RobertaProcessing")
        {
            int Token(string key) => node[key] is JsonArray { Count: 2 } pair && (int?)pair[1] is int id ? id
                : throw new InvalidDataException($"{path}: {type} has no [\"token\", id] \"{key}\".");
            return ([Token("cls")], [Token("sep")]);
        }
        var single = node["single"] as JsonArray ?? throw new InvalidDataException(
            $"{path}: TemplateProcessing has no \"single\" template.");
        var prefix = new List<int>();
        var suffix = new List<int>();
        bool seenSequence = false;
        foreach (var item in single)
        {
            if (item?["Sequence"] is not null)
            {
                seenSequence = true;
                continue;
            }
            string name = (string?)item?["SpecialToken"]?["id"]
                          ?? throw new InvalidDataException(
                              $"{path}: TemplateProcessing item {item?.ToJsonString()} is neither a Sequence nor a " +
                              $"SpecialToken.");
            var ids = node["special_tokens"]?[name]?["ids"] is JsonArray listed
                ? listed.Select(id => (int?)id ?? throw new InvalidDataException(
                    $"{path}: special token \"{name}\" lists a null id.")).ToList()
                : [lookup(name) ?? throw new InvalidDataException(
                    $"{path}: TemplateProcessing names special token \"{name}\", which is neither in special_tokens " +
                    $"nor in the vocabulary.")];
            (seenSequence ? suffix : prefix).AddRange(ids);
        }
        if (!seenSequence)
            throw new InvalidDataException($"{path}: TemplateProcessing's single template has no $A sequence.");
        return (prefix.ToArray(), suffix.ToArray());
    }
}
