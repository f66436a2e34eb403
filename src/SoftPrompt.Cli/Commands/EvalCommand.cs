using System.CommandLine;
using SoftPrompt.Models.Formats;
using SoftPrompt.Training.Corpus;
using SoftPrompt.Training.Pretraining;

namespace SoftPrompt.Cli.Commands;

/// <summary>`softprompt eval --perplexity FILE`: a model's mean next-token loss and perplexity on a text corpus.</summary>
public static class EvalCommand
{
    public static Command Build()
    {
        var model = new Option<string>("--model") { Description = "Model directory (with tokenizer) or TinyStories .bin", Required = true };
        var perplexity = new Option<string>("--perplexity") { Description = "Text file, documents separated by blank lines", Required = true };
        var context = new Option<int?>("--context") { Description = "Window length (default: the model's context, at most 256)" };
        var command = new Command("eval", "Evaluate a model: perplexity on a text corpus.");
        foreach (var o in new Option[] { model, perplexity, context }) command.Options.Add(o);
        command.SetAction(parse =>
        {
            var loaded = ModelLoader.Load(parse.GetValue(model)!);
            var tokenizer = loaded.Tokenizer ?? throw new FileNotFoundException($"The model at {loaded.Source} has no tokenizer.");
            int separator = tokenizer.EosId ?? throw new InvalidDataException($"The tokenizer of {loaded.Source} has no end-of-text token.");
            int window = parse.GetValue(context) ?? Math.Min(loaded.Model.Config.MaxPositions, 256);
            var corpus = TokenCorpus.FromDocuments(TextCorpus.ReadDocuments(parse.GetValue(perplexity)!), tokenizer.Encode, separator);
            float loss = Pretrainer.MeanLoss(loaded.Model, corpus, EvalSettings.Batch, window, int.MaxValue);
            Console.WriteLine(System.Text.Json.JsonSerializer.Serialize(new
            {
                model = loaded.Source, file = parse.GetValue(perplexity), tokens = corpus.Length, context = window,
                loss = Math.Round(loss, 4), perplexity = Math.Round(Math.Exp(loss), 2),
            }));
            return 0;
        });
        return command;
    }
}
