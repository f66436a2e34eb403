using System.Diagnostics;
using SoftPrompt.Tuning.Comparison;

namespace SoftPrompt.Cli.Commands;

/// <summary>
/// `softprompt tune --method M` for a method of the registry other than prompt tuning: runs
/// <see cref="SingleMethodRun"/> and prints its figures as a JSON line and a sentence.
/// </summary>
internal static class MethodTuning
{
    public static int Run(SingleMethodRun.Settings settings, bool asJson)
    {
        var clock = Stopwatch.StartNew();
        var o = SingleMethodRun.Run(settings, new ConsoleProgress(TimeSpan.FromSeconds(10)), Console.Error.WriteLine);
        double percent = 100.0 * o.TrainableParameters / o.BaseParameters;
        var record = new
        {
            task = settings.TaskName, method = o.Method, note = o.Note, trainable_params = o.TrainableParameters,
            percent_of_base = Math.Round(percent, 4), steps = o.Steps, test_examples = o.TestExamples,
            test_accuracy = Math.Round(o.Accuracy, 4), test_macro_f1 = Math.Round(o.MacroF1, 4),
            zero_shot_accuracy = o.HasZeroShot ? Math.Round(o.ZeroShotAccuracy, 4) : (double?)null,
            zero_shot_macro_f1 = o.HasZeroShot ? Math.Round(o.ZeroShotMacroF1, 4) : (double?)null,
            majority_class = o.MajorityClass, majority_accuracy = Math.Round(o.MajorityAccuracy, 4),
            majority_macro_f1 = Math.Round(o.MajorityMacroF1, 4),
            seconds = Math.Round(clock.Elapsed.TotalSeconds, 1), adapter = o.AdapterDirectory,
        };
        string untuned = o.HasZeroShot
            ? $"the untuned template {o.ZeroShotAccuracy:P1} (macro-F1 {o.ZeroShotMacroF1:F3}); " : "";
        string sentence =
            $"{o.Method}: {o.Accuracy:P1} test accuracy (macro-F1 {o.MacroF1:F3}) on {o.TestExamples:N0} " +
            $"{settings.TaskName} test examples; {untuned}always answering \"{o.MajorityClass}\" " +
            $"{o.MajorityAccuracy:P1} (macro-F1 {o.MajorityMacroF1:F3}). " +
            $"{o.TrainableParameters:N0} trained values ({percent:F3}% of the base)" +
            (o.AdapterDirectory is null ? "; nothing to save." : $"; adapter in {o.AdapterDirectory}.");
        ResultOutput.Print(asJson, record, sentence);
        return 0;
    }
}
