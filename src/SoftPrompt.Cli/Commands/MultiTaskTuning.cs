using System.Diagnostics;
using SoftPrompt.Data.Tasks;
using SoftPrompt.Data.Tokenizers;
using SoftPrompt.Models;
using SoftPrompt.Tuning.PromptTuning;

namespace SoftPrompt.Cli.Commands;

/// <summary>
/// `softprompt tune --task a,b,...`: one prompt per classification task, trained together with rows of every task in
/// each batch (<see cref="MultiTaskPromptTuner"/>); each task's adapter is saved in its own directory under --out.
/// Kept apart from <see cref="TuneCommand"/>, which hands over when it sees several tasks.
/// </summary>
internal static class MultiTaskTuning
{
    public sealed record Settings(string[] Tasks, string DataDirectory, string OutDirectory, int PromptLength, string Init, string? InitText,
        int Seed, PromptTuningOptions Options, int EvalExamples, int TestExamples, bool Resume, bool PerToken, ClassificationLoss Loss);

    private sealed record TaskData(string Name, PromptClassifier Classifier, List<LabeledExample> Train, List<LabeledExample> Validation, List<LabeledExample> Test);

    public static int Run(CausalLanguageModel frozen, ITokenizer tokenizer, string modelSource, Settings s)
    {
        var clock = Stopwatch.StartNew();
        var tasks = new List<TaskData>();
        foreach (var given in s.Tasks)
        {
            var (name, folder) = TaskFolder.Locate(given, s.DataDirectory);
            var definition = TaskDefinition.LoadClassification(folder, name);
            string Split(string split) => Path.Combine(folder, split + ".jsonl");
            var prompt = new PromptEmbedding(s.PromptLength, frozen.Config.HiddenSize, $"prompt_embeddings.{name}");
            var classifier = new PromptClassifier(frozen, tokenizer, definition, prompt) { LengthNormalized = s.PerToken, TrainingLoss = s.Loss };
            var train = definition.ReadSplit(Split("train"));
            PromptInit.Apply(prompt, PromptInit.Parse(s.Init), frozen.TokenEmbedding, s.Seed,
                PromptInit.MostFrequentTokens(train.Select(classifier.InputTokens), 5000), definition.Labels.Select(l => classifier.LabelTokens[l]).ToList(),
                s.InitText is string text ? tokenizer.Encode(text) : null);
            tasks.Add(new TaskData(name, classifier, train, TaskFile.EvenSubset(definition.ReadSplit(Split("validation")), s.EvalExamples),
                TaskFile.EvenSubset(definition.ReadSplit(Split("test")), s.TestExamples)));
            Console.Error.WriteLine($"Task {name}: {train.Count} train, {tasks[^1].Validation.Count} validation, {tasks[^1].Test.Count} test examples.");
        }
        List<TaskExample> Tagged(Func<TaskData, List<LabeledExample>> split) =>
            tasks.SelectMany((t, i) => split(t).Select(e => new TaskExample(i, e))).ToList();

        var objective = new MultiTaskPromptObjective(frozen, tasks.Select(t => t.Classifier).ToList());
        var result = new MultiTaskPromptTuner(objective, s.Options, new ConsoleProgress(TimeSpan.FromSeconds(10)))
            .Run(Tagged(t => t.Train), Tagged(t => t.Validation), Path.Combine(s.OutDirectory, "checkpoint"), s.Resume);

        var perTask = new Dictionary<string, object>();
        foreach (var (name, classifier, _, _, test) in tasks)
        {
            var (accuracy, macroF1) = classifier.Evaluate(test, s.PerToken);
            string adapter = Path.Combine(s.OutDirectory, name);
            PromptAdapterFiles.Save(adapter, classifier.Prompt!, new PromptAdapterFiles.Info(modelSource, frozen.Config.NumLayers, frozen.Config.NumHeads, s.Init, s.InitText, name, classifier.Task,
                PromptAdapterFiles.FingerprintOf(frozen)));
            perTask[name] = new { test_examples = test.Count, test_accuracy = Math.Round(accuracy, 4), test_macro_f1 = Math.Round(macroF1, 4), adapter };
        }
        Console.WriteLine(System.Text.Json.JsonSerializer.Serialize(new
        {
            tasks = s.Tasks, method = "prompt_tuning_multi_task", prompt_length = s.PromptLength, init = s.Init, steps = result.Steps,
            best_validation_step = result.BestStep, best_validation_mean_accuracy = Math.Round(result.BestScore, 4), stopped_early = result.StoppedEarly,
            per_task = perTask, seconds = Math.Round(clock.Elapsed.TotalSeconds, 1),
        }));
        return 0;
    }
}
