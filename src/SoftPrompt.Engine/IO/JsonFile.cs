using System.Text.Json;

namespace SoftPrompt.Engine.IO;

/// <summary>Loads small JSON files (configs, checkpoint indexes) with a size bound and errors that name the
/// file.</summary>
public static class JsonFile
{
    public const long DefaultMaxBytes = 100_000_000;

    public static JsonDocument Load(string path, long maxBytes = DefaultMaxBytes)
    {
        byte[] bytes;
        using (var handle = ModelFiles.OpenForReading(path))
        {
            long length = RandomAccess.GetLength(handle);
            if (length > maxBytes)
                throw new ModelFormatException(path,
                    $"the file is {length} bytes, more than the {maxBytes}-byte limit for a JSON file of this kind.");
            bytes = new byte[length];
            ModelFiles.ReadExactly(path, handle, bytes, 0);
        }
        // The parser accepts invalid UTF-8 inside strings and fails only when a string is read, far from here.
        if (!System.Text.Unicode.Utf8.IsValid(bytes))
            throw new ModelFormatException(path,
                $"not valid UTF-8 text (first bad byte at offset {FirstInvalidUtf8(bytes)}).");
        try
        {
            return JsonDocument.Parse(bytes, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip,
                AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            throw new ModelFormatException(path, $"not valid JSON ({e.Message}).", e);
        }
    }

    private static int FirstInvalidUtf8(byte[] bytes)
    {
        System.Text.Unicode.Utf8.ToUtf16(bytes, new char[bytes.Length], out int valid, out _,
            replaceInvalidSequences: false);
        return valid;
    }

    /// <summary>"an object", "a number", ...: for messages about a value of the wrong JSON type.</summary>
    public static string Describe(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => element.ValueKind.ToString(),
    };
}
