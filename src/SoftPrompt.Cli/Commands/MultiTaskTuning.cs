using System.Diagnostics;
using SoftPrompt.Data.Tokenizers;
using SoftPrompt.Models;
using SoftPrompt.Tuning.PromptTuning;

namespace SoftPrompt.Cli.Commands;

/// <summary>
/// `softprompt tune --task a,b,...`: runs <see cref="MultiTaskPromptTuning"/> and prints its figures as one JSON line.
/// <see cref="TuneCommand"/> hands over here when it sees several tasks.
/// </summary>
internal static class MultiTaskTuning
{
    public static int Run(CausalLanguageModel frozen, ITokenizer tokenizer, string modelSource,
        MultiTaskPromptTuning.MultiTaskSettings settings,
        bool asJson)
    {
        var clock = Stopwatch.StartNew();
        var outcome = MultiTaskPromptTuning.Run(frozen, tokenizer, modelSource, settings,
            new ConsoleProgress(TimeSpan.FromSeconds(10)),
            Console.Error.WriteLine);
        var record = new
        {
            tasks = settings.Tasks, method = "prompt_tuning_multi_task", prompt_length = settings.PromptLength,
            init = settings.Init,
            steps = outcome.Steps, best_validation_step = outcome.BestStep, best_validation_mean_accuracy =
                Math.Round(outcome.BestMeanAccuracy, 4),
            stopped_early = outcome.StoppedEarly,
            per_task = outcome.PerTask.ToDictionary(t => t.Task, t => (object)new
            {
                test_examples = t.TestExamples, test_accuracy = Math.Round(t.Accuracy, 4),
                test_macro_f1 = Math.Round(t.MacroF1, 4),
                adapter = t.AdapterDirectory,
            }),
            seconds = Math.Round(clock.Elapsed.TotalSeconds, 1),
        };
        ResultOutput.Print(asJson, record,
            $"{settings.Tasks.Count} prompts tuned together for {outcome.Steps} steps (best mean validation accuracy " +
              $"{outcome.BestMeanAccuracy:P1} at step {outcome.BestStep}):\n" + string.Join("\n",
                  outcome.PerTask.Select(t =>
                  $"  {t.Task}: {t.Accuracy:P1} test accuracy (macro-F1 {t.MacroF1:F3}) on {t.TestExamples:N0} " +
                      $"examples; adapter in {t.AdapterDirectory}")));
        return 0;
    }
}
