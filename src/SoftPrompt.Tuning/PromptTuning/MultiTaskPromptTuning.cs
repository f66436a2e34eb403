using SoftPrompt.Data.Tasks;
using SoftPrompt.Data.Tokenizers;
using SoftPrompt.Models;
using SoftPrompt.Training.Progress;

namespace SoftPrompt.Tuning.PromptTuning;

/// <summary>
/// Several classification tasks tuned at once over one frozen model: one prompt per task, rows of every task in each
/// batch (<see cref="MultiTaskPromptObjective"/>), each task's prompt saved as its own adapter directory under
/// <see cref="MultiTaskSettings.OutDirectory"/>. What `softprompt tune --task a,b,...` runs.
/// </summary>
public static class MultiTaskPromptTuning
{
    public sealed record MultiTaskSettings(IReadOnlyList<string> Tasks, string DataDirectory, string OutDirectory,
        int PromptLength,
        string Init, string? InitText, int Seed, PromptTuningOptions Options, int EvalExamples, int TestExamples,
        bool Resume,
        bool PerToken, ClassificationLoss Loss);

    /// <summary>One task's test figures and where its prompt was saved.</summary>
    public sealed record TaskOutcome(string Task, int TestExamples, double Accuracy, double MacroF1,
        string AdapterDirectory);

    public sealed record Outcome(int Steps, int BestStep, double BestMeanAccuracy, bool StoppedEarly,
        IReadOnlyList<TaskOutcome> PerTask);

    private sealed record TaskData(string Name, PromptClassifier Classifier, List<LabeledExample> Train,
        List<LabeledExample> Validation,
        List<LabeledExample> Test);

    /// <param name="log">Receives one line per task as its splits are read (counts of examples).</param>
    public static Outcome Run(CausalLanguageModel frozen, ITokenizer tokenizer, string modelSource, MultiTaskSettings s,
        ITrainingProgress progress, Action<string> log)
    {
        var tasks = new List<TaskData>();
        foreach (var given in s.Tasks)
        {
            var (name, folder) = TaskFolder.Locate(given, s.DataDirectory);
            var definition = TaskDefinition.LoadClassification(folder, name);
            string Split(string split) => Path.Combine(folder, split + ".jsonl");
            // Prompts are named by task: checkpoints store every prompt under its name.
            var prompt = new PromptEmbedding(s.PromptLength, frozen.Config.HiddenSize, $"prompt_embeddings.{name}");
            var classifier = new PromptClassifier(frozen, tokenizer, definition, prompt) { LengthNormalized =
                s.PerToken, TrainingLoss = s.Loss };
            var train = definition.ReadSplit(Split("train"));
            PromptInit.Apply(prompt, PromptInit.Parse(s.Init), frozen.TokenEmbedding, s.Seed,
                PromptInit.MostFrequentTokens(train.Select(classifier.InputTokens), 5000),
                definition.Labels.Select(l => classifier.LabelTokens[l]).ToList(),
                s.InitText is string text ? tokenizer.Encode(text) : null);
            tasks.Add(new TaskData(name, classifier, train,
                TaskFile.EvenSubset(definition.ReadSplit(Split("validation")), s.EvalExamples),
                TaskFile.EvenSubset(definition.ReadSplit(Split("test")), s.TestExamples)));
            log($"Task {name}: {train.Count} train, {tasks[^1].Validation.Count} validation, {tasks[^1].Test.Count} " +
                $"test examples.");
        }
        List<TaskExample> Tagged(Func<TaskData, List<LabeledExample>> split) =>
            tasks.SelectMany((t, i) => split(t).Select(e => new TaskExample(i, e))).ToList();

        var objective = new MultiTaskPromptObjective(frozen, tasks.Select(t => t.Classifier).ToList());
        var result = new MultiTaskPromptTuner(objective, s.Options, progress)
            .Run(Tagged(t => t.Train), Tagged(t => t.Validation), Path.Combine(s.OutDirectory, "checkpoint"), s.Resume);

        var perTask = new List<TaskOutcome>();
        foreach (var (name, classifier, _, _, test) in tasks)
        {
            var (accuracy, macroF1) = classifier.Evaluate(test, s.PerToken);
            string adapter = Path.Combine(s.OutDirectory, name);
            PromptAdapterFiles.Save(adapter, classifier.Prompt!, PromptAdapterFiles.Info.For(frozen, modelSource,
                s.Init, s.InitText, name,
                classifier.Task));
            perTask.Add(new TaskOutcome(name, test.Count, accuracy, macroF1, adapter));
        }
        return new Outcome(result.Steps, result.BestStep, result.BestScore, result.StoppedEarly, perTask);
    }
}
