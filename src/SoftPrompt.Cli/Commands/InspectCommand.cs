using System.CommandLine;
using SoftPrompt.Data.Tasks;
using SoftPrompt.Data.Tokenizers;
using SoftPrompt.Models.Formats;
using SoftPrompt.Tuning;
using SoftPrompt.Tuning.PromptTuning;

namespace SoftPrompt.Cli.Commands;

/// <summary>`softprompt inspect`: each prompt vector of a prompt-tuning adapter as its nearest vocabulary tokens
/// (Lester et al.'s interpretation); an adapter of another method as its tensors, their shapes and sizes.</summary>
public static class InspectCommand
{
    public static Command Build()
    {
        var model = CommonOptions.Model("The frozen base model the adapter was trained on");
        var adapter = new Option<string>("--adapter")
        {
            Description = "Adapter directory of any method",
            Required = true,
        };
        var top = new Option<int>("--top") { Description = "Tokens per prompt vector", DefaultValueFactory = _ => 5 };
        var task = new Option<string?>("--task")
        {
            Description = "Count how often this classification task's label words are among the nearest tokens",
        };
        var command = new Command("inspect",
            "Show each soft-prompt vector's nearest vocabulary tokens (cosine similarity).");
        foreach (var o in new Option[] { model, adapter, top, task }) command.Options.Add(o);
        command.SetAction(parse =>
        {
            string modelPath = parse.GetValue(model)!, directory = parse.GetValue(adapter)!;
            // the adapter is checked against the base it was trained on, for every method
            var (trained, tokenEmbedding, baseParameters, tokenizer) = LoadBoth(modelPath, directory);
            if (trained.Prompt is not { } prompt)
            {
                DescribeTensors(directory, trained.PeftType, baseParameters);
                return 0;
            }
            var nearest = NearestTokens.Find(prompt.Prompt, tokenEmbedding, parse.GetValue(top));
            // Lester et al. found class labels among the nearest neighbours of many prompt vectors; count them.
            var labelTokens = parse.GetValue(task) is string given && TaskFolder.Locate(given,
                ShippedFiles.Path("data/tasks")) is var (name, folder)
                && (PromptAdapterFiles.DefinitionOf(directory, name) ?? TaskDefinition.Load(folder,
                    name)) is ClassificationTask classification
                ? classification.Verbalizer.Values.SelectMany(tokenizer.Encode).ToHashSet()
                : new HashSet<int>();
            int withLabel = 0;
            for (int i = 0; i < nearest.Length; i++)
            {
                bool hasLabel = nearest[i].Any(t => labelTokens.Contains(t.TokenId));
                if (hasLabel) withLabel++;
                Console.WriteLine($"P{i,-3} " + string.Join("  ",
                    nearest[i].Select(t => $"{Quote(tokenizer.TokenText(t.TokenId))} {t.Cosine:F2}"))
                                  + (hasLabel ? "   ← label word" : ""));
            }
            if (labelTokens.Count > 0)
                Console.WriteLine(
                    $"{withLabel} of {nearest.Length} prompt vectors have a label word among their " +
                    $"{parse.GetValue(top)} nearest tokens.");
            return 0;
        });
        return command;
    }

    /// <summary>The adapter on its base, a single stack or a T5: what was trained, the token table its prompt is read
    /// against, the base's size and its tokenizer.</summary>
    private static (LoadedAdapter Trained, Engine.Tensor TokenEmbedding, long BaseParameters, ITokenizer Tokenizer)
        LoadBoth(string modelPath, string directory)
    {
        if (ModelFamily.OfStoredModel(modelPath) == ModelFamilies.EncoderDecoder)
        {
            var t5 = ModelLoader.LoadT5(modelPath);
            return (AdapterDirectory.LoadOnT5(directory, t5.Model), t5.Model.TokenEmbedding, t5.Model.ParameterCount,
                t5.Tokenizer ?? throw new FileNotFoundException($"The model at {modelPath} has no tokenizer.json."));
        }
        var loaded = ModelLoader.Load(modelPath);
        return (AdapterDirectory.Load(directory, loaded.Model), loaded.Model.TokenEmbedding,
            loaded.Model.ParameterCount,
            loaded.Tokenizer ?? throw new FileNotFoundException($"The model at {loaded.Source} has no tokenizer."));
    }

    /// <summary>The adapter's stored tensors: name, shape, values and their root mean square (how far from zero a
    /// method's update has moved), then the total against the base's size.</summary>
    private static void DescribeTensors(string directory, string peftType, long baseParameters)
    {
        var weights = AdapterFiles.OpenWeights(directory);
        long total = 0;
        Console.WriteLine($"{peftType} adapter: {weights.Names.Count} tensors");
        foreach (var name in weights.Names.Order(StringComparer.Ordinal))
        {
            var info = weights.Info(name);
            var values = weights.ReadFloat32(name);
            double rms = values.Length == 0 ? 0 : Math.Sqrt(values.Sum(v => (double)v * v) / values.Length);
            total += values.Length;
            Console.WriteLine(
                $"  {name,-64} [{string.Join(", ", info.Shape)}]  {values.Length,10:N0} values  rms {rms:G3}");
        }
        Console.WriteLine(
            $"{total:N0} stored values, {100.0 * total / baseParameters:F3}% of the base's {baseParameters:N0} " +
            $"parameters.");
    }

    private static string Quote(string token) => "\"" + token.Replace("\n", "\\n").Replace("\t", "\\t") + "\"";
}
