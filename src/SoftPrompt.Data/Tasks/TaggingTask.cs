using System.Text.Json;

namespace SoftPrompt.Data.Tasks;

/// <summary>One sentence of a sequence-labelling task: its words and one gold tag per word.</summary>
public sealed record TaggedSentence(IReadOnlyList<string> Words, IReadOnlyList<string> Tags);

/// <summary>Sequence labelling (part-of-speech tagging): JSONL rows {"tokens": [...], "tags": [...]}.</summary>
public sealed record TaggingTask(string Name, IReadOnlyList<string> Tags)
{
    /// <summary>brown-pos: the 12 universal tags of Petrov, Das &amp; McDonald (2012).</summary>
    public static TaggingTask BrownPos { get; } =
        new("brown-pos", new[] { "NOUN", "VERB", "ADJ", "ADV", "PRON", "DET", "ADP", "NUM", "CONJ", "PRT", ".", "X" });

    /// <summary>Reads a split; every row needs as many tags as words, each one of <see cref="Tags"/>.</summary>
    public List<TaggedSentence> ReadSplit(string path)
    {
        var known = Tags.ToHashSet();
        return TaskFile.ReadJsonLines(path, (row, line) =>
        {
            string[] Strings(string field) =>
                row.TryGetProperty(field, out var array) && array.ValueKind == JsonValueKind.Array
                    ? array.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.String ? e.GetString()!
                        : throw new InvalidDataException($"{path}, line {line}: \"{field}\" holds a {e.ValueKind} among its strings.")).ToArray()
                    : throw new InvalidDataException($"{path}, line {line}: no \"{field}\" array.");
            var words = Strings("tokens");
            var tags = Strings("tags");
            if (words.Length == 0) throw new InvalidDataException($"{path}, line {line}: the sentence has no tokens.");
            if (tags.Length != words.Length)
                throw new InvalidDataException($"{path}, line {line}: {words.Length} tokens but {tags.Length} tags.");
            if (tags.FirstOrDefault(t => !known.Contains(t)) is string unknown)
                throw new InvalidDataException($"{path}, line {line}: tag \"{unknown}\" is not one of {string.Join(" ", Tags)}.");
            return new TaggedSentence(words, tags);
        });
    }
}
