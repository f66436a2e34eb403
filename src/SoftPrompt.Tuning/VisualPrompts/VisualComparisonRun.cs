using System.Diagnostics;
using System.Globalization;
using SoftPrompt.Data.Images;
using SoftPrompt.Models.Formats;
using SoftPrompt.Training.Progress;
using SoftPrompt.Training.Schedules;
using SoftPrompt.Tuning.Comparison;
using SoftPrompt.Tuning.PromptTuning;

namespace SoftPrompt.Tuning.VisualPrompts;

/// <summary>
/// `vit compare` as a library run: each method of the registry that runs on a ViT adapts a fresh copy of the same
/// pretrained ViT to an image task once per seed (AdamW, cosine schedule, the best validation step kept and tested);
/// a row per method holds the means over seeds.
/// </summary>
/// <param name="adaptersRoot">Where each frozen-backbone method's head (and prompts) is saved, one folder a method and
/// seed; null to keep none.</param>
public sealed class VisualComparisonRun(string modelPath, ImageTask data, int promptTokens, int steps, int batch,
    string? adaptersRoot,
    ITrainingProgress progress, Action<string> log)
{
    public static readonly string[] MetricNames = ["validation accuracy", "test accuracy"];

    /// <summary>The frozen backbone's parameters (what "% of base" is relative to), known once a method has loaded
    /// it.</summary>
    public long BackboneParameters { get; private set; }

    public IReadOnlyList<ComparisonRow> Run(IReadOnlyList<TuningMethod> methods, IReadOnlyList<int> seeds)
    {
        var rows = new List<ComparisonRow>();
        foreach (var method in methods)
        {
            var runs = seeds.Select(seed => Adapt(method, seed)).ToList();
            double seconds = runs.Sum(r => r.Seconds);
            int totalSteps = runs.Sum(r => r.Steps);
            string perSeed = seeds.Count > 1
                ? $"; test per seed " +
                $"{string.Join(", ", runs.Select(r => r.Test.ToString("F3", CultureInfo.InvariantCulture)))}" : "";
            rows.Add(new ComparisonRow(method.Name, runs[0].Trainable, runs[0].Trainable * sizeof(float),
                [runs.Average(r => r.Validation), runs.Average(r => r.Test)], seconds, totalSteps / runs.Count,
                totalSteps * batch * runs[0].Sequence / Math.Max(seconds, 1e-9), runs[0].Note + perSeed));
        }
        return rows;
    }

    private sealed record AdaptationRun(long Trainable, int Sequence, int Steps, double Validation, double Test,
        double Seconds, string Note);

    /// <summary>One method, one seed: train on the task's training split, keep the best validation step, test
    /// it.</summary>
    private AdaptationRun Adapt(TuningMethod method, int seed)
    {
        var model = VitFiles.Load(modelPath); // every run starts from the same untouched weights
        BackboneParameters = model.Backbone.Sum(p => (long)p.Tensor.Length);
        var settings = new MethodSettings
        {
            PromptLength = promptTokens, Seed = seed,
            Training = new PromptTuningOptions
            {
                Steps = steps, BatchSize = batch, Schedule = ScheduleShape.Cosine, WarmupSteps = steps / 10,
                EvaluateEvery = Math.Max(1, steps / 12), Seed = seed,
            },
        };
        var setup = method.PrepareVision(new VisionContext(model, data.Classes, settings));
        var (objective, trainable) = (setup.Objective, setup.Trainable);
        log($"{method.Name} (seed {seed}): {setup.Note}");
        var clock = Stopwatch.StartNew();
        var result = new PromptTuner<LabelledImage>(objective, setup.Training, progress, trainable).Run(data.Train,
            data.Validation);
        double seconds = clock.Elapsed.TotalSeconds;
        double test = objective.Score(data.Test);
        log($"{method.Name} (seed {seed}): validation {result.BestScore:F4} (step {result.BestStep}), test {test:F4} " +
            $"({seconds:F0} s)");
        if (adaptersRoot is not null) setup.Save?.Invoke(Path.Combine(adaptersRoot, $"{method.Name}-seed{seed}"));
        return new AdaptationRun(trainable.Sum(t => (long)t.Length),
            model.Config.Patches + 1 + (objective.VisualPrompts?.Tokens ?? 0),
            result.Steps, result.BestScore, test, seconds, setup.Note);
    }
}
