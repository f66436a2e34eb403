using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace SoftPrompt.Data.Tokenizers;

/// <summary>
/// Hugging Face tokenizer.json: BPE models, byte-level (GPT-2, our own trained tokenizers) or SentencePiece-style with
/// "▁" and byte fallback (LLaMA, Mistral), WordPiece models (BERT) and Unigram models (T5, mT5). Writing produces the
/// byte-level BPE form or the BERT WordPiece form our trainers emit.
/// </summary>
public static class TokenizerJson
{
    public const string FileName = "tokenizer.json";
    private const long MaxBytes = 200_000_000;

    public static ITokenizer Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"No tokenizer file at '{path}'.", path);
        if (new FileInfo(path).Length > MaxBytes)
            throw new InvalidDataException($"{path}: larger than {MaxBytes} bytes; not a tokenizer.json.");
        JsonNode root;
        try
        {
            root = JsonNode.Parse(File.ReadAllBytes(path), documentOptions: new JsonDocumentOptions { MaxDepth = 64 })
                   ?? throw new InvalidDataException($"{path}: the file is JSON null.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not valid JSON ({e.Message}).", e);
        }
        try
        {
            return Parse(root, path);
        }
        catch (Exception e) when (
            e is InvalidOperationException or FormatException or KeyNotFoundException or ArgumentException)
        {
            // ArgumentException: System.Text.Json.Nodes reports a key given twice in one object this way.
            throw new InvalidDataException($"{path}: unexpected structure ({e.Message}).", e);
        }
    }

    private static ITokenizer Parse(JsonNode root, string path)
    {
        var model = root["model"] as JsonObject ?? throw new InvalidDataException($"{path}: no \"model\" object.");
        string type = (string?)model["type"] ?? (model["merges"] is not null ? "BPE" : "");
        if (type is not ("BPE" or "WordPiece" or "Unigram"))
            throw new InvalidDataException(
                $"{path}: model type \"{type}\" is not supported (BPE, WordPiece and Unigram are).");
        var specials = ReadAddedTokens(root, path);
        if (type == "Unigram") return ParseUnigram(root, model, specials, path);
        var vocabNode = model["vocab"] as JsonObject ?? throw new InvalidDataException(
            $"{path}: model.vocab is missing or not an object.");
        var vocab = new Dictionary<string, int>(vocabNode.Count);
        foreach (var (token, idNode) in vocabNode)
        {
            int id = idNode?.GetValue<int>() ?? throw new InvalidDataException($"{path}: token '{token}' has no id.");
            if (id < 0 || id >= 10_000_000)
                throw new InvalidDataException($"{path}: token '{token}' has id {id}, out of range.");
            vocab[token] = id;
        }
        if (type == "WordPiece") return ParseWordPiece(root, model, vocab, specials, path);

        var merges = ReadMerges(model["merges"] as JsonArray, path);
        bool byteFallback = (bool?)model["byte_fallback"] ?? false;
        bool byteLevel = MentionsType(root["pre_tokenizer"], "ByteLevel") || MentionsType(root["decoder"], "ByteLevel");
        if (byteLevel && !byteFallback)
            return new ByteLevelBpeTokenizer(vocab, merges, specials, path)
            {
                PreTokenizer = SplitPattern(root["pre_tokenizer"], path) is string pattern ? new RegexPreTokenizer(
                    pattern) : null,
                NormalizeToNfc = MentionsType(root["normalizer"], "NFC"),
                IgnoreMerges = (bool?)model["ignore_merges"] ?? false,
            };

        int size = Math.Max(vocab.Values.DefaultIfEmpty(-1).Max(), specials.Select(s => s.Id).DefaultIfEmpty(-1).Max())
            + 1;
        var pieces = new string[size];
        foreach (var (token, id) in vocab) pieces[id] = token;
        foreach (var s in specials) pieces[s.Id] ??= s.Content;
        for (int i = 0; i < size; i++)
            if (pieces[i] is null)
                throw new InvalidDataException(
                    $"{path}: no token has id {i}; ids must run 0..{size - 1} without gaps.");
        bool dummyPrefix = MentionsType(root["normalizer"], "Prepend") || MentionsType(root["pre_tokenizer"],
            "Metaspace");
        return SentencePieceBpeTokenizer.FromMerges(pieces, merges, specials, dummyPrefix, (string?)model["unk_token"]);
    }

    // The Regex of a Split pre-tokenizer (alone or in a Sequence), when it isolates its matches; other Split forms are
    // refused rather than ignored, since they would cut the text differently.
    private static string? SplitPattern(JsonNode? node, string path)
    {
        if (node is not JsonObject pre) return null;
        if ((string?)pre["type"] == "Sequence")
            return (pre["pretokenizers"] as JsonArray ?? []).Select(p => SplitPattern(p, path)).FirstOrDefault(p =>
                p is not null);
        if ((string?)pre["type"] != "Split") return null;
        string? pattern = (string?)pre["pattern"]?["Regex"];
        if (pattern is null || (string?)pre["behavior"] != "Isolated" || ((bool?)pre["invert"] ?? false))
            throw new InvalidDataException(
                $"{path}: a Split pre-tokenizer other than a Regex with behavior Isolated is not supported.");
        return pattern;
    }

    private static List<SpecialToken> ReadAddedTokens(JsonNode root, string path)
    {
        var specials = new List<SpecialToken>();
        if (root["added_tokens"] is JsonArray added)
            foreach (var a in added)
            {
                int id = (int?)a?["id"] ?? throw new InvalidDataException($"{path}: an added token has no id.");
                if (id < 0 || id >= 10_000_000)
                    throw new InvalidDataException($"{path}: added token has id {id}, out of range.");
                string content = (string?)a!["content"] ?? throw new InvalidDataException(
                    $"{path}: added token {id} has no content.");
                specials.Add(new SpecialToken(id, content, (bool?)a["special"] ?? true));
            }
        return specials;
    }

    // model.vocab is [[piece, score], ...] with ids by position.
    private static UnigramTokenizer ParseUnigram(JsonNode root, JsonObject model, List<SpecialToken> specials,
        string path)
    {
        var vocabNode = model["vocab"] as JsonArray ?? throw new InvalidDataException(
            $"{path}: Unigram model.vocab is missing or not an array.");
        if (vocabNode.Count >= 10_000_000)
            throw new InvalidDataException($"{path}: Unigram vocabulary of {vocabNode.Count} pieces is too large.");
        var vocab = new List<(string, double)>(vocabNode.Count);
        foreach (var entry in vocabNode)
        {
            if (entry is not JsonArray { Count: 2 } pair || (string?)pair[0] is not string piece
                || pair[1] is not JsonValue score)
                throw new InvalidDataException(
                    $"{path}: Unigram piece {vocab.Count} is not [\"piece\", score]: {entry?.ToJsonString()}.");
            vocab.Add((piece, score.GetValue<double>()));
        }
        // Only for template tokens that special_tokens does not list: one or two look-ups, so a scan will do.
        int? Lookup(string content) =>
            specials.Find(s => s.Content == content)?.Id
                ?? (vocab.FindLastIndex(v => v.Item1 == content) is int i and >= 0 ? i : null);
        var pipeline = TokenizerPipeline.Read(root, path, Lookup);
        var skipped = root["added_tokens"] is JsonArray added
            ? added.Where(a => (bool?)a?["special"] ?? true).Select(a => (int)a!["id"]!)
            : [];
        return new UnigramTokenizer(vocab, (int?)model["unk_id"], (bool?)model["byte_fallback"] ?? false, specials,
            skipped, pipeline, path);
    }

    private static WordPieceTokenizer ParseWordPiece(JsonNode root, JsonObject model, Dictionary<string, int> vocab,
        List<SpecialToken> specials, string path)
    {
        string prefix = (string?)model["continuing_subword_prefix"] ?? WordPieceTokenizer.ContinuationPrefix;
        if (prefix != WordPieceTokenizer.ContinuationPrefix)
            throw new InvalidDataException(
                $"{path}: WordPiece continuation prefix \"{prefix}\" is not supported (only \"##\").");
        if (!MentionsType(root["normalizer"], "BertNormalizer") || !MentionsType(root["pre_tokenizer"],
            "BertPreTokenizer"))
            throw new InvalidDataException(
                $"{path}: only WordPiece with BERT's normalizer and pre-tokenizer is supported.");
        bool lowercase = (bool?)root["normalizer"]!["lowercase"] ?? true;
        var stripAccents = root["normalizer"]!["strip_accents"];
        if (stripAccents is not null && (bool)stripAccents! != lowercase)
            throw new InvalidDataException($"{path}: strip_accents differing from lowercase is not supported.");
        return new WordPieceTokenizer(vocab, specials, lowercase, (string?)model["unk_token"] ?? "[UNK]",
            (int?)model["max_input_chars_per_word"] ?? 100);
    }

    private static List<(string, string)> ReadMerges(JsonArray? merges, string path)
    {
        var list = new List<(string, string)>();
        if (merges is null) return list;
        foreach (var m in merges)
        {
            if (m is JsonArray pair && pair.Count == 2)
                list.Add(((string)pair[0]!, (string)pair[1]!));
            else if (m is JsonValue v && v.TryGetValue(out string? text) && text.IndexOf(' ', 1) is int space and > 0)
                list.Add((text[..space], text[(space + 1)..]));
            else
                throw new InvalidDataException(
                    $"{path}: merge #{list.Count} is neither \"a b\" nor [\"a\", \"b\"]: {m?.ToJsonString()}.");
        }
        return list;
    }

    // True when the node, or any node nested in a Sequence, has this "type".
    private static bool MentionsType(JsonNode? node, string type) => node switch
    {
        JsonObject o => (string?)o["type"] == type || o.Any(kv => kv.Value is JsonArray or JsonObject
            && MentionsType(kv.Value, type)),
        JsonArray a => a.Any(n => MentionsType(n, type)),
        _ => false,
    };

    /// <summary>
    /// Writes a byte-level BPE tokenizer as a standard tokenizer.json (temp file, then rename), with
    /// <paramref name="specialTokens"/> (the tokenizer's own when null) as added tokens. As in GPT-2's published file,
    /// special tokens appear both in the vocabulary and among the added tokens.
    /// </summary>
    public static void Write(string path, ByteLevelBpeTokenizer tokenizer, IEnumerable<SpecialToken>? specialTokens =
        null)
    {
        var specials = (specialTokens ?? tokenizer.SpecialTokens).ToList();
        var vocabulary = new SortedDictionary<int, string>();
        foreach (var (token, id) in tokenizer.Vocabulary) vocabulary[id] = token;
        foreach (var s in specials)
        {
            if (vocabulary.TryGetValue(s.Id, out var existing) && existing != s.Content)
                throw new ArgumentException(
                    $"Special token '{s.Content}' would take id {s.Id}, which is the vocabulary's '{existing}'.",
                    nameof(specialTokens));
            if (tokenizer.TokenId(s.Content) is int other && other != s.Id)
                throw new ArgumentException(
                    $"Special token '{s.Content}' is given id {s.Id} but the vocabulary has it as {other}.",
                    nameof(specialTokens));
            vocabulary[s.Id] = s.Content;
        }
        var vocab = new JsonObject();
        foreach (var (id, token) in vocabulary) vocab[token] = id;
        var root = new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = new JsonArray(specials.Select(s => (JsonNode)new JsonObject
            {
                ["id"] = s.Id, ["content"] = s.Content, ["single_word"] = false, ["lstrip"] = false, ["rstrip"] = false,
                ["normalized"] = false, ["special"] = true,
            }).ToArray()),
            ["normalizer"] = null,
            ["pre_tokenizer"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false,
                ["trim_offsets"] = true, ["use_regex"] = true },
            ["post_processor"] = null,
            ["decoder"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = true, ["trim_offsets"] = true,
                ["use_regex"] = true },
            ["model"] = new JsonObject
            {
                ["type"] = "BPE", ["dropout"] = null, ["unk_token"] = null, ["continuing_subword_prefix"] = null,
                ["end_of_word_suffix"] = null, ["fuse_unk"] = false, ["byte_fallback"] = false,
                ["ignore_merges"] = false,
                ["vocab"] = vocab,
                ["merges"] = new JsonArray(tokenizer.Merges.Select(m => (JsonNode)new JsonArray(m.Left, m.Right))
                    .ToArray()),
            },
        };
        WriteAtomically(path, root);
    }

    /// <summary>Writes a WordPiece tokenizer as BERT's tokenizer.json: BertNormalizer, BertPreTokenizer, [CLS] $A [SEP]
    /// post-processing, WordPiece decoder (temp file, then rename).</summary>
    public static void Write(string path, WordPieceTokenizer tokenizer)
    {
        var vocab = new JsonObject();
        for (int id = 0; id < tokenizer.VocabSize; id++) vocab[tokenizer.Pieces[id]] = id;
        int cls = tokenizer.ClsId ?? throw new ArgumentException(
            "A BERT tokenizer.json needs [CLS] in the vocabulary.");
        int sep = tokenizer.SepId ?? throw new ArgumentException(
            "A BERT tokenizer.json needs [SEP] in the vocabulary.");
        JsonObject SpecialPiece(string id) => new() { ["SpecialToken"] = new JsonObject { ["id"] = id,
            ["type_id"] = 0 } };
        var root = new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = new JsonArray(tokenizer.SpecialTokens.Select(s => (JsonNode)new JsonObject
            {
                ["id"] = s.Id, ["content"] = s.Content, ["single_word"] = false, ["lstrip"] = false, ["rstrip"] = false,
                ["normalized"] = false, ["special"] = true,
            }).ToArray()),
            ["normalizer"] = new JsonObject
            {
                ["type"] = "BertNormalizer", ["clean_text"] = true, ["handle_chinese_chars"] = true,
                ["strip_accents"] = null,
                ["lowercase"] = tokenizer.Lowercase,
            },
            ["pre_tokenizer"] = new JsonObject { ["type"] = "BertPreTokenizer" },
            ["post_processor"] = new JsonObject
            {
                ["type"] = "TemplateProcessing",
                ["single"] = new JsonArray(SpecialPiece("[CLS]"),
                    new JsonObject { ["Sequence"] = new JsonObject { ["id"] = "A", ["type_id"] = 0 } },
                    SpecialPiece("[SEP]")),
                ["pair"] = new JsonArray(SpecialPiece("[CLS]"),
                    new JsonObject { ["Sequence"] = new JsonObject { ["id"] = "A", ["type_id"] = 0 } },
                    SpecialPiece("[SEP]"),
                    new JsonObject { ["Sequence"] = new JsonObject { ["id"] = "B", ["type_id"] = 1 } },
                    new JsonObject { ["SpecialToken"] = new JsonObject { ["id"] = "[SEP]", ["type_id"] = 1 } }),
                ["special_tokens"] = new JsonObject
                {
                    ["[CLS]"] = new JsonObject { ["id"] = "[CLS]", ["ids"] = new JsonArray(cls),
                        ["tokens"] = new JsonArray("[CLS]") },
                    ["[SEP]"] = new JsonObject { ["id"] = "[SEP]", ["ids"] = new JsonArray(sep),
                        ["tokens"] = new JsonArray("[SEP]") },
                },
            },
            ["decoder"] = new JsonObject { ["type"] = "WordPiece", ["prefix"] = WordPieceTokenizer.ContinuationPrefix,
                ["cleanup"] = true },
            ["model"] = new JsonObject
            {
                ["type"] = "WordPiece", ["unk_token"] = tokenizer.UnknownToken, ["continuing_subword_prefix"] =
                    WordPieceTokenizer.ContinuationPrefix,
                ["max_input_chars_per_word"] = tokenizer.MaxCharactersPerWord, ["vocab"] = vocab,
            },
        };
        WriteAtomically(path, root);
    }

    // Same folder, so the rename is atomic: a reader sees the old file or the whole new one.
    private static void WriteAtomically(string path, JsonObject root)
    {
        string temporary = path + ".tmp";
        File.WriteAllText(temporary, root.ToJsonString(new JsonSerializerOptions { WriteIndented = true }),
            new UTF8Encoding(false));
        File.Move(temporary, path, overwrite: true);
    }
}
