using System.Text.Json;

namespace SoftPrompt.Serving;

/// <summary>A request the API refuses: the HTTP status and a message that names the field.</summary>
public sealed record RequestProblem(int Status, string Message);

/// <summary>
/// The body of POST /api/classify and /api/generate, read once: which served adapter, the input text, and every other
/// string field (a template may name fields besides "text"), plus generation's own settings. Only the shapes are
/// checked here; what depends on the served task (does it exist, is the text within the limit) is the server's.
/// </summary>
public sealed record TaskRequest(string Task, string Text, IReadOnlyDictionary<string, string> Fields, bool Stream,
    int? MaxNewTokens)
{
    /// <param name="maxNewTokens">The most new tokens the server lets a generation ask for.</param>
    public static (TaskRequest? Request, RequestProblem? Problem) Read(JsonElement body, int maxNewTokens)
    {
        if (StringField(body, "task") is not { Length: > 0 } task)
            return (null, new(400, "Give \"task\": the name of a served adapter (GET /api/tasks lists them)."));
        bool stream = false;
        if (body.TryGetProperty("stream", out var streamField))
        {
            if (streamField.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
                return (null, new(400, "\"stream\" must be true or false."));
            stream = streamField.ValueKind == JsonValueKind.True;
        }
        int? maxNew = null;
        if (body.TryGetProperty("max_new_tokens", out var limitField))
        {
            if (limitField.ValueKind != JsonValueKind.Number || !limitField.TryGetInt32(out int limit) || limit < 1
                || limit > maxNewTokens)
                return (null, new(400, $"\"max_new_tokens\" must be a whole number from 1 to {maxNewTokens}."));
            maxNew = limit;
        }
        var fields = body.EnumerateObject().Where(f => f.Value.ValueKind == JsonValueKind.String)
            .ToDictionary(f => f.Name, f => f.Value.GetString()!);
        return (new TaskRequest(task, fields.GetValueOrDefault("text", ""), fields, stream, maxNew), null);
    }

    /// <summary>A string field of the body, or null when it is absent or not a string.</summary>
    internal static string? StringField(JsonElement body, string name) =>
        body.ValueKind == JsonValueKind.Object && body.TryGetProperty(name, out var v)
            && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}

/// <summary>The body of POST /api/adapters: load the adapter directory at Path and serve it as Name.</summary>
/// <param name="Task">The task it answers, for an adapter that carries no definition of its own (PEFT-written
/// ones).</param>
/// <param name="Replace">Whether an adapter already served under Name may be replaced.</param>
public sealed record AdapterLoadRequest(string Name, string Path, string? Task, bool Replace)
{
    public static (AdapterLoadRequest? Request, RequestProblem? Problem) Read(JsonElement body)
    {
        if (TaskRequest.StringField(body, "name") is not string name || TaskRequest.StringField(body,
            "path") is not string path)
            return (null, new(400, "Give \"name\" and \"path\" of the adapter directory."));
        bool replace = body.TryGetProperty("replace", out var replaceField)
            && replaceField.ValueKind == JsonValueKind.True;
        return (new AdapterLoadRequest(name, path, TaskRequest.StringField(body, "task"), replace), null);
    }
}
