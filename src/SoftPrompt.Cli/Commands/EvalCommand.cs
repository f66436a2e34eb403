using System.CommandLine;
using SoftPrompt.Data.Tasks;
using SoftPrompt.Models.Formats;
using SoftPrompt.Training.Corpus;
using SoftPrompt.Training.Pretraining;
using SoftPrompt.Tuning;
using SoftPrompt.Tuning.Comparison;
using SoftPrompt.Tuning.PromptTuning;

namespace SoftPrompt.Cli.Commands;

/// <summary>
/// `softprompt eval`: a model's perplexity on a text corpus, or its accuracy on a task's test split with prompt design
/// (the task's hand-written template and verbalizer), k in-context examples, or a trained prompt-tuning adapter.
/// </summary>
public static class EvalCommand
{
    public static Command Build()
    {
        var model = CommonOptions.Model();
        var weights = CommonOptions.InferenceWeights();
        var perplexity = new Option<string?>("--perplexity")
        {
            Description = "Text file (documents separated by blank lines) to measure perplexity on",
        };
        var context = new Option<int?>("--context")
        {
            Description = "Perplexity window (default: the model's context, at most 256)",
        };
        var task = new Option<string?>("--task")
        {
            Description =
                "Task to evaluate on, under --data or a task folder's path: classification (accuracy, macro-F1) or "
                + "wordnet-gloss (BLEU, ROUGE-L)",
        };
        var data = CommonOptions.Data();
        var split = new Option<string>("--split") { DefaultValueFactory = _ => "test" };
        var shots = new Option<int>("--shots")
        {
            Description = "In-context examples from the training split (0: zero-shot)",
            DefaultValueFactory = _ => 0,
        };
        var adapter = new Option<string?>("--adapter")
        {
            Description =
                "An adapter directory to evaluate: prompt tuning, prefix, LoRA, LLaMA-Adapter or bottleneck adapters; "
                + "on a T5 prompt tuning or prefix; on a ViT a head (and visual prompts)",
        };
        var ensemble = new Option<string?>("--ensemble")
        {
            Description = "Comma-separated adapter directories scored together as an ensemble",
        };
        var examples = new Option<int>("--examples")
        {
            Description = "Examples scored (0: the whole split)",
            DefaultValueFactory = _ => 0,
        };
        var perToken = new Option<bool>("--per-token")
        {
            Description = "Score labels by mean log-probability per token",
        };
        var scoresFile = new Option<string?>("--scores")
        {
            Description = "Also write each example's label log-probabilities to this JSON-lines file (row, gold "
                + "label, predicted label, scores by label): for error analysis or calibration (classification on a "
                + "decoder or an encoder, one adapter or none)",
        };
        var seed = CommonOptions.Seed();
        var json = ResultOutput.Json();
        var command = new Command("eval",
            "Evaluate a model: perplexity on a corpus, or accuracy on a task (zero-shot, few-shot, or with an " +
                "adapter).");
        foreach (var o in new Option[] { model, perplexity, context, task, data, split, shots, adapter, ensemble,
            examples, perToken, scoresFile, seed, json, weights }) command.Options.Add(o);
        command.SetAction(parse =>
        {
            // One sentence and JSON record for every classification score, whatever model family made it.
            int PrintScores(string taskName, string scoring, int count, double accuracy, double macroF1,
                string majority, double majorityAccuracy)
            {
                double majorityRate = Math.Round(majorityAccuracy, 4);
                ResultOutput.Print(parse, json, new
                {
                    model = parse.GetValue(model), task = taskName, split = parse.GetValue(split), examples = count,
                    method = scoring, adapter = parse.GetValue(adapter),
                    accuracy = Math.Round(accuracy, 4), macro_f1 = Math.Round(macroF1, 4), majority_class = majority,
                    majority_accuracy = majorityRate,
                }, $"{scoring}: {accuracy:P1} accuracy (macro-F1 {macroF1:F3}) on {count:N0} {taskName} " +
                    $"{parse.GetValue(split)} examples; always answering \"{majority}\" {majorityRate:P1}.");
                return 0;
            }

            if (ModelFamily.OfStoredModel(parse.GetValue(model)!) is ModelFamilies.EncoderDecoder
                or ModelFamilies.Vision)
            {
                string? unsupported = parse.GetValue(perplexity) is not null ? "Perplexity"
                    : parse.GetValue(ensemble) is not null ? "Ensemble" : parse.GetValue(shots) > 0 ? "Shots"
                    : parse.GetValue(scoresFile) is not null ? "Scores" : null;
                if (unsupported is not null)
                    throw new Engine.OptionException(unsupported,
                        "runs on a decoder or an encoder, not a T5 or a ViT.");
                var taskFolder = TaskFolder.Locate(parse.GetValue(task) ?? throw new ArgumentException(
                    "Give --task NAME or a task folder."), parse.GetValue(data)!);
                var scored = AdapterEvaluation.Run(parse.GetValue(model)!, parse.GetValue(adapter), taskFolder,
                    parse.GetValue(split)!, parse.GetValue(examples));
                return PrintScores(taskFolder.Name, scored.Method, scored.Examples, scored.Accuracy, scored.MacroF1,
                    scored.MajorityClass, scored.MajorityAccuracy);
            }
            var loaded = CommonOptions.LoadModel(parse.GetValue(model)!, parse, weights);
            var tokenizer = loaded.Tokenizer ?? throw new FileNotFoundException(
                $"The model at {loaded.Source} has no tokenizer.");
            if (parse.GetValue(perplexity) is string file)
            {
                int separator = tokenizer.EosId ?? throw new InvalidDataException(
                    $"The tokenizer of {loaded.Source} has no end-of-text token.");
                int window = parse.GetValue(context) ?? Math.Min(loaded.Model.Config.MaxPositions, 256);
                var corpus = TokenCorpus.FromDocuments(TextCorpus.ReadDocuments(file), tokenizer.Encode, separator);
                float loss = Pretrainer.MeanLoss(loaded.Model, corpus, PretrainingRun.EvaluationBatch, window,
                    int.MaxValue);
                ResultOutput.Print(parse, json, new
                {
                    model = loaded.Source, file, tokens = corpus.Length, context = window,
                    loss = Math.Round(loss, 4), perplexity = Math.Round(Math.Exp(loss), 2),
                }, $"Perplexity {Math.Exp(loss):F2} (mean loss {loss:F4} a token) of {loaded.Source} on the " +
                    $"{corpus.Length:N0} tokens of {file}, " +
                   $"in windows of {window} tokens.");
                return 0;
            }
            var (taskName, dir) = TaskFolder.Locate(parse.GetValue(task) ?? throw new ArgumentException(
                "Give --perplexity FILE or --task NAME."),
                parse.GetValue(data)!);
            string baseFingerprint = PromptAdapterFiles.FingerprintOf(loaded.Model);
            // Any method's adapter: a soft prompt, layer hooks (LoRA, prefix, adapters, LLaMA-Adapter), or none.
            var trained = parse.GetValue(adapter) is string a ? AdapterDirectory.Load(a, loaded.Model) : null;
            var prompt = trained?.Prompt;
            string methodName = trained is null ? "" : trained.PeftType.ToLowerInvariant();
            loaded.Model.SetTrainable(false);
            var taskDefinition = TaskDefinition.Load(dir, taskName);
            if (taskDefinition is GenerationTask generation)
            {
                var texts = generation.ReadSplit(Path.Combine(dir, parse.GetValue(split) + ".jsonl"));
                texts = TaskFile.EvenSubset(texts, parse.GetValue(examples));
                var (bleu, rouge, _) = new PromptGenerator(loaded.Model, tokenizer, generation,
                    prompt) { Adapter = trained?.Adapter }.Evaluate(texts);
                string generating = trained is not null ? methodName : "zero-shot";
                ResultOutput.Print(parse, json, new
                {
                    model = loaded.Source, task = taskName, split = parse.GetValue(split), examples = texts.Count,
                    method = generating, adapter = parse.GetValue(adapter),
                    bleu = Math.Round(bleu, 4), rouge_l = Math.Round(rouge, 4),
                }, $"{generating}: ROUGE-L {rouge:F3} (BLEU {bleu:F3}) on {texts.Count:N0} {taskName} " +
                    $"{parse.GetValue(split)} examples.");
                return 0;
            }
            var definition = TaskDefinition.AsClassification(taskDefinition,
                Path.Combine(dir, TaskDefinition.FileName));
            var rows = definition.ReadSplit(Path.Combine(dir, parse.GetValue(split) + ".jsonl"));
            rows = TaskFile.EvenSubset(rows, parse.GetValue(examples));
            int k = parse.GetValue(shots);
            string prefix = k > 0 ? definition.FewShotPrefix(definition.ReadSplit(Path.Combine(dir, "train.jsonl")), k,
                parse.GetValue(seed)) : "";
            var (majority, majorityAccuracy, _) = LabelPredictorExtensions.Majority(rows, definition.Labels);
            double majorityRate = Math.Round(majorityAccuracy, 4);
            if (parse.GetValue(ensemble) is string list)
            {
                if (parse.GetValue(scoresFile) is not null)
                    throw new Engine.OptionException("Scores", "writes one classifier's scores, not an ensemble's.");
                var paths = list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                var members = paths.Select(p => PromptAdapterFiles.Load(p, loaded.Model.Config.HiddenSize,
                    baseFingerprint: baseFingerprint,
                    peftScale: loaded.Model.PeftPromptScale)).ToList();
                var (perMember, vote, mean) = new PromptEnsemble(loaded.Model, tokenizer, definition, members)
                    .Predict(rows);
                double Accuracy(string[] predicted) => Math.Round(rows.Where((e, i) => e.Label == predicted[i])
                    .Count() / (double)rows.Count, 4);
                double MacroF1(string[] predicted) => Math.Round(LabelPredictorExtensions.Score(rows, predicted,
                    definition.Labels).MacroF1, 4);
                ResultOutput.Print(parse, json, new
                {
                    model = loaded.Source, task = taskName, split = parse.GetValue(split), examples = rows.Count,
                    method = "prompt_ensemble",
                    members = paths.Select((p, i) => new { adapter = p, accuracy = Accuracy(perMember[i]) }).ToArray(),
                    majority_vote_accuracy = Accuracy(vote), mean_probability_accuracy = Accuracy(mean),
                    majority_vote_macro_f1 = MacroF1(vote), mean_probability_macro_f1 = MacroF1(mean),
                    majority_class = majority, majority_accuracy = majorityRate,
                }, $"An ensemble of {paths.Length} prompts: {Accuracy(vote):P1} accuracy (macro-F1 " +
                    $"{MacroF1(vote):F3}) by majority vote, {Accuracy(mean):P1} (macro-F1 {MacroF1(mean):F3}) " +
                    "by mean probability, " +
                   $"on {rows.Count:N0} {taskName} {parse.GetValue(split)} examples (members " +
                       $"{string.Join(", ", perMember.Select(m => Accuracy(m).ToString("P1")))}); " +
                   $"always answering \"{majority}\" {majorityRate:P1}.");
                return 0;
            }
            var classifier = new PromptClassifier(loaded.Model, tokenizer, definition, prompt,
                prefix) { Adapter = trained?.Adapter };
            var (accuracy, macroF1) = parse.GetValue(scoresFile) is string scoresPath
                ? ScoresFile.Write(scoresPath, rows, definition.Labels, classifier.LabelScores(rows,
                    parse.GetValue(perToken)))
                : classifier.Evaluate(rows, parse.GetValue(perToken));
            string scoring = trained is not null ? methodName : k > 0 ? $"{k}-shot" : "zero-shot";
            return PrintScores(taskName, scoring, rows.Count, accuracy, macroF1, majority, majorityAccuracy);
        });
        return command;
    }
}
