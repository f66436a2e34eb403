using System.Text.Json;

namespace SoftPrompt.Data.Tasks;

/// <summary>One sentence of a sequence-labelling task: its words and one gold tag per word.</summary>
public sealed record TaggedSentence(IReadOnlyList<string> Words, IReadOnlyList<string> Tags);

/// <summary>Sequence labelling (e.g. part-of-speech tagging): JSONL rows {"tokens": [...], "tags": [...]} (the field
/// names are the task's), one tag of <see cref="Tags"/> per word.</summary>
public sealed record TaggingTask(string Name, IReadOnlyList<string> Tags) : ITaskDefinition
{
    public string Kind => "tagging";
    public string TokensField { get; init; } = "tokens";
    public string TagsField { get; init; } = "tags";

    /// <summary>Reads a split; every row needs as many tags as words, each one of <see cref="Tags"/>.</summary>
    public List<TaggedSentence> ReadSplit(string path)
    {
        var known = Tags.ToHashSet();
        return TaskFile.ReadJsonLines(path, (row, line) =>
        {
            string[] Strings(string field) =>
                row.TryGetProperty(field, out var array) && array.ValueKind == JsonValueKind.Array
                    ? array.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.String ? e.GetString()!
                        : throw new InvalidDataException(
                            $"{path}, line {line}: \"{field}\" holds a {e.ValueKind} among its strings.")).ToArray()
                    : throw new InvalidDataException($"{path}, line {line}: no \"{field}\" array.");
            var words = Strings(TokensField);
            var tags = Strings(TagsField);
            if (words.Length == 0) throw new InvalidDataException($"{path}, line {line}: the sentence has no tokens.");
            if (tags.Length != words.Length)
                throw new InvalidDataException(
                    $"{path}, line {line}: {words.Length} {TokensField} but {tags.Length} {TagsField}.");
            if (tags.FirstOrDefault(t => !known.Contains(t)) is string unknown)
                throw new InvalidDataException(
                    $"{path}, line {line}: tag \"{unknown}\" is not one of {string.Join(" ", Tags)}.");
            return new TaggedSentence(words, tags);
        });
    }
}
