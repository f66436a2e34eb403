using System.CommandLine;
using System.Text.Json;

namespace SoftPrompt.Cli;

/// <summary>
/// How a command reports its result: in words for a person (the default), or as one JSON line for a script
/// (--json). Progress and notes go to stderr either way, so stdout holds the result alone.
/// </summary>
internal static class ResultOutput
{
    public static Option<bool> Json() =>
        new("--json") { Description = "Print the result as one JSON line (for scripts) instead of sentences" };

    public static void Print(ParseResult parse, Option<bool> json, object record, string sentence) =>
        Print(parse.GetValue(json), record, sentence);

    public static void Print(bool asJson, object record, string sentence) =>
        Console.WriteLine(asJson ? JsonSerializer.Serialize(record) : sentence);
}
