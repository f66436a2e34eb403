using System.CommandLine;
using SoftPrompt.Data.Tokenizers;
using SoftPrompt.Models.Formats;
using SoftPrompt.Models.Generation;
using SoftPrompt.Tuning;

namespace SoftPrompt.Cli.Commands;

/// <summary>`softprompt generate`: continue a text with a model, streaming tokens as they are decoded.</summary>
public static class GenerateCommand
{
    public static Command Build()
    {
        var model = CommonOptions.Model();
        var weights = CommonOptions.InferenceWeights();
        var prompt = new Option<string>("--prompt")
        {
            Description = "The text to continue",
            DefaultValueFactory = _ => "Once upon a time",
        };
        var maxTokens = new Option<int>("--max-tokens")
        {
            Description = "New tokens at most",
            DefaultValueFactory = _ => 64,
        };
        var temperature = new Option<float>("--temperature")
        {
            Description = "0 = greedy",
            DefaultValueFactory = _ => 0f,
        };
        var topK = new Option<int>("--top-k") { Description = "Sample among the k most likely tokens (0 = all)" };
        var topP = new Option<float>("--top-p")
        {
            Description = "Nucleus sampling mass",
            DefaultValueFactory = _ => 1f,
        };
        var seed = CommonOptions.Seed("Sampling seed");
        var adapter = new Option<string?>("--adapter")
        {
            Description =
                "An adapter directory of any method (a soft prompt goes before the text; LoRA, prefixes, (IA)³, "
                + "adapters hook the layers)",
        };
        var beams = new Option<int>("--beams")
        {
            Description = "Beam search of this width instead of greedy/sampled decoding (0 = off)",
        };
        var lengthPenalty = new Option<float>("--length-penalty")
        {
            Description = "Beam search: rank by logP / length^this",
            DefaultValueFactory = _ => 1f,
        };

        var command = new Command("generate", "Continue a prompt with a model (greedy or sampled).");
        foreach (var o in new Option[] { model, prompt, maxTokens, temperature, topK, topP, seed, adapter, beams,
            lengthPenalty, weights }) command.Options.Add(o);
        command.SetAction(parse =>
        {
            var loaded = CommonOptions.LoadModel(parse.GetValue(model)!, parse, weights);
            var tokenizer = loaded.Tokenizer
                ?? throw new FileNotFoundException(
                    $"The model at {loaded.Source} has no tokenizer (tokenizer.json, or encoder.json + vocab.bpe).");
            // The adapter is read before anything is printed, so a bad one fails with its message alone.
            var trained = parse.GetValue(adapter) is string a ? AdapterDirectory.Load(a, loaded.Model) : null;
            if (trained?.Adapter is not null && parse.GetValue(beams) > 0)
                throw new ArgumentException(
                    $"--beams: beam search runs with a prompt-tuning adapter or none; {trained.PeftType} hooks the " +
                    $"layers of one sequence (drop --beams to sample or decode greedily).");
            var options = new GenerationOptions
            {
                MaxNewTokens = parse.GetValue(maxTokens), Temperature = parse.GetValue(temperature),
                TopK = parse.GetValue(topK),
                TopP = parse.GetValue(topP), Seed = parse.GetValue(seed),
                StopTokens = tokenizer.EosId is int eos ? new[] { eos } : Array.Empty<int>(),
                Hooks = trained?.Adapter?.Hooks(new int[1]), // one sequence, its prompt rows (if any) from position 0
            };
            string text = parse.GetValue(prompt)!;
            var textIds = tokenizer.Encode(text).ToList();
            var input = new List<int>();
            if (tokenizer.BosId is int bos) input.Add(bos);
            input.AddRange(textIds);

            var softPrompt = trained?.Prompt?.Prompt;
            Console.Write(text);
            var decoder = new IncrementalDecoder(tokenizer, textIds);
            // A beam's text is known only when the search ends, so it is written at once rather than streamed.
            var tokens = parse.GetValue(beams) is int width and > 0
                ? Generator.BeamSearch(loaded.Model, input, options, new BeamSearchOptions { Width = width,
                    LengthPenalty = parse.GetValue(lengthPenalty) }, softPrompt)[0].Tokens
                : Generator.Generate(loaded.Model, input, options, softPrompt);
            foreach (int id in tokens)
            {
                if (id == tokenizer.EosId) break;
                Console.Write(decoder.Add(id));
            }
            Console.WriteLine();
            return 0;
        });
        return command;
    }
}
