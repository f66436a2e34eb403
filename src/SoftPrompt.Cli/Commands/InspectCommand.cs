using System.CommandLine;
using SoftPrompt.Data.Tasks;
using SoftPrompt.Models.Formats;
using SoftPrompt.Tuning.PromptTuning;

namespace SoftPrompt.Cli.Commands;

/// <summary>`softprompt inspect`: each prompt vector of an adapter as its nearest vocabulary tokens.</summary>
public static class InspectCommand
{
    public static Command Build()
    {
        var model = new Option<string>("--model") { Description = "The frozen base model the adapter was trained on", DefaultValueFactory = _ => ShippedFiles.Path("models/base-small") };
        var adapter = new Option<string>("--adapter") { Description = "Prompt-tuning adapter directory", Required = true };
        var top = new Option<int>("--top") { Description = "Tokens per prompt vector", DefaultValueFactory = _ => 5 };
        var task = new Option<string?>("--task") { Description = "Count how often this classification task's label words are among the nearest tokens" };
        var command = new Command("inspect", "Show each soft-prompt vector's nearest vocabulary tokens (cosine similarity).");
        foreach (var o in new Option[] { model, adapter, top, task }) command.Options.Add(o);
        command.SetAction(parse =>
        {
            var loaded = ModelLoader.Load(parse.GetValue(model)!);
            var tokenizer = loaded.Tokenizer ?? throw new FileNotFoundException($"The model at {loaded.Source} has no tokenizer.");
            var prompt = PromptAdapterFiles.Load(parse.GetValue(adapter)!, loaded.Model.Config.HiddenSize, baseFingerprint: PromptAdapterFiles.FingerprintOf(loaded.Model));
            var nearest = NearestTokens.Find(prompt.Prompt, loaded.Model.TokenEmbedding, parse.GetValue(top));
            // Lester et al. found class labels among the nearest neighbours of many prompt vectors; count them.
            var labelTokens = parse.GetValue(task) is string given && TaskFolder.Locate(given, ShippedFiles.Path("data/tasks")) is var (name, folder)
                && (PromptAdapterFiles.DefinitionOf(parse.GetValue(adapter)!, name) ?? TaskDefinition.Load(folder, name)) is ClassificationTask classification
                ? classification.Verbalizer.Values.SelectMany(tokenizer.Encode).ToHashSet()
                : new HashSet<int>();
            int withLabel = 0;
            for (int i = 0; i < nearest.Length; i++)
            {
                bool hasLabel = nearest[i].Any(t => labelTokens.Contains(t.TokenId));
                if (hasLabel) withLabel++;
                Console.WriteLine($"P{i,-3} " + string.Join("  ", nearest[i].Select(t => $"{Quote(tokenizer.TokenText(t.TokenId))} {t.Cosine:F2}"))
                                  + (hasLabel ? "   ← label word" : ""));
            }
            if (labelTokens.Count > 0)
                Console.WriteLine($"{withLabel} of {nearest.Length} prompt vectors have a label word among their {parse.GetValue(top)} nearest tokens.");
            return 0;
        });
        return command;
    }

    private static string Quote(string token) => "\"" + token.Replace("\n", "\\n").Replace("\t", "\\t") + "\"";
}
