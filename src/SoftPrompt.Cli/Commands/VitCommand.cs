using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using SoftPrompt.Data.Images;
using SoftPrompt.Models;
using SoftPrompt.Models.Formats;
using SoftPrompt.Training.Schedules;
using SoftPrompt.Tuning;
using SoftPrompt.Tuning.Comparison;
using SoftPrompt.Tuning.Heads;
using SoftPrompt.Tuning.PromptTuning;
using SoftPrompt.Tuning.VisualPrompts;

namespace SoftPrompt.Cli.Commands;

/// <summary>
/// `softprompt vit pretrain`: a small ViT trained from scratch on an image task (data/glyphs/characters).
/// `softprompt vit compare`: linear probing, VPT-shallow, VPT-deep and full fine-tuning of that ViT on another image
/// task (data/glyphs/lowercase), as a Markdown table (+ CSV, SVG) of accuracy and trainable parameters.
/// </summary>
public static class VitCommand
{
    public static Command Build()
    {
        var command = new Command("vit",
            "Vision Transformer: pretrain one on an image task, or compare visual prompt tuning with linear probing " +
            "and full fine-tuning.");
        command.Subcommands.Add(BuildPretrain());
        command.Subcommands.Add(BuildCompare());
        return command;
    }

    private static Option<int> Int(string name, string description, int value) => new(name) { Description = description,
        DefaultValueFactory = _ => value };

    private static Command BuildPretrain()
    {
        var task = new Option<string>("--task")
        {
            Description = "Image task directory (index.json + split files)",
            DefaultValueFactory = _ => ShippedFiles.Path("data/glyphs/characters"),
        };
        var output = new Option<string>("--out") { Description = "Model directory to write", Required = true };
        var patch = Int("--patch", "Patch side in pixels", 4);
        var hidden = Int("--hidden", "Hidden size", 64);
        var layers = Int("--layers", "Encoder layers", 4);
        var heads = Int("--heads", "Attention heads", 4);
        var mlp = Int("--mlp", "MLP width", 128);
        var steps = Int("--steps", "Training steps", 3000);
        var batch = Int("--batch", "Images per step", 64);
        var lr = new Option<float>("--lr")
        {
            Description = "Peak AdamW learning rate (cosine decay)",
            DefaultValueFactory = _ => 2e-3f,
        };
        var seed = Int("--seed", "Initialisation and sampling seed", 1);
        var json = ResultOutput.Json();
        var command = new Command("pretrain",
            "Train a ViT from scratch on an image classification task and save it as a Hugging Face folder.");
        foreach (var o in new Option[] { task, output, patch, hidden, layers, heads, mlp, steps, batch, lr, seed,
            json }) command.Options.Add(o);
        command.SetAction(parse =>
        {
            var data = ImageTask.Load(parse.GetValue(task)!);
            var model = new Vit(new VitConfig
            {
                ImageSize = data.ImageSize, Channels = data.Channels, PatchSize = parse.GetValue(patch),
                HiddenSize = parse.GetValue(hidden), NumLayers = parse.GetValue(layers),
                NumHeads = parse.GetValue(heads),
                IntermediateSize = parse.GetValue(mlp), Labels = data.Classes,
            });
            model.InitializeRandom(parse.GetValue(seed));
            model.SetTrainable(true);
            var objective = new ImageClassification(model, new LinearHead(data.Classes, model.ClassifierWeight,
                model.ClassifierBias));
            int totalSteps = parse.GetValue(steps);
            var options = new PromptTuningOptions
            {
                Steps = totalSteps, BatchSize = parse.GetValue(batch), Optimizer = "adamw",
                LearningRate = parse.GetValue(lr),
                Schedule = ScheduleShape.Cosine, WarmupSteps = Math.Min(100, totalSteps / 10), WeightDecay = 0.05f,
                EvaluateEvery = Math.Max(1, totalSteps / 20), Seed = parse.GetValue(seed),
            };
            var clock = Stopwatch.StartNew();
            var result = new PromptTuner<LabelledImage>(objective, options,
                new ConsoleProgress(TimeSpan.FromSeconds(30)),
                model.Parameters.Select(p => p.Tensor).ToList()).Run(data.Train, data.Validation);
            VitFiles.Save(model, parse.GetValue(output)!);
            double testAccuracy = objective.Score(data.Test);
            ResultOutput.Print(parse, json, new
            {
                model = parse.GetValue(output), task = data.Name, parameters = model.ParameterCount,
                steps = result.Steps,
                best_step = result.BestStep, validation_accuracy = Math.Round(result.BestScore, 4),
                test_accuracy = Math.Round(testAccuracy, 4), seconds = Math.Round(clock.Elapsed.TotalSeconds),
            }, $"A ViT of {model.ParameterCount:N0} parameters trained on {data.Name} for {result.Steps} steps: " +
                $"{testAccuracy:P1} test accuracy " +
               $"(best validation {result.BestScore:P1} at step {result.BestStep}); saved in " +
                   $"{parse.GetValue(output)}.");
            return 0;
        });
        return command;
    }

    private static Command BuildCompare()
    {
        var modelPath = CommonOptions.Model("Pretrained ViT directory", "models/vit-glyphs");
        var task = new Option<string>("--task")
        {
            Description = "Image task to adapt to",
            DefaultValueFactory = _ => ShippedFiles.Path("data/glyphs/lowercase"),
        };
        var onVit = TuningMethods.For(ModelFamilies.Vision).Select(m => m.Name).ToList();
        var methods = new Option<string>("--methods")
        {
            Description = "Comma-separated: " + string.Join(", ", onVit),
            DefaultValueFactory = _ => string.Join(",", onVit),
        };
        var tokens = Int("--tokens", "VPT prompt tokens per layer", 8);
        var steps = Int("--steps", "Training steps per method", 600);
        var batch = Int("--batch", "Images per step", 32);
        var seeds = new Option<string>("--seeds")
        {
            Description =
                "Comma-separated seeds (new head, prompts, sampling); each method runs once per seed and the table "
                + "shows the mean",
            DefaultValueFactory = _ => "1",
        };
        var output = new Option<string>("--out")
        {
            Description = "Markdown report (a .csv and .svg are written beside it)",
            DefaultValueFactory = _ => "reports/vpt.md",
        };
        var adapters = new Option<string?>("--adapters")
        {
            Description = "Directory to save each frozen-backbone method's head (+ prompts) in",
        };
        var command = new Command("compare",
            "Adapt a pretrained ViT to a new image task by linear probing, VPT-shallow, VPT-deep and full " +
            "fine-tuning; write a table.");
        foreach (var o in new Option[] { modelPath, task, methods, tokens, steps, batch, seeds, output,
            adapters }) command.Options.Add(o);
        command.SetAction(parse =>
        {
            string source = parse.GetValue(modelPath)!;
            var data = ImageTask.Load(parse.GetValue(task)!);
            var chosen = parse.GetValue(methods)!.Split(',',
                StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(name => TuningMethods.Find(name, ModelFamilies.Vision)).ToList();
            var seedList = parse.GetValue(seeds)!.Split(',',
                StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(text => int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int seed)
                    ? seed
                    : throw new Engine.OptionException("Seeds",
                        $"takes whole numbers separated by commas; '{text}' is not one.")).ToArray();
            var run = new VisualComparisonRun(source, data, parse.GetValue(tokens), parse.GetValue(steps),
                parse.GetValue(batch),
                parse.GetValue(adapters), new ConsoleProgress(TimeSpan.FromSeconds(30)), Console.Error.WriteLine);
            var rows = run.Run(chosen, seedList);
            long backbone = run.BackboneParameters;
            string header = string.Create(CultureInfo.InvariantCulture,
                $"# Visual prompt tuning vs linear probing and full fine-tuning\n\nTask: {data.Name} " +
                    $"({data.Classes.Count} classes; " +
                $"{data.Train.Count} training, {data.Validation.Count} validation, {data.Test.Count} test images). " +
                    $"Base: {source} " +
                $"({backbone:N0} backbone parameters; \"% of base\" is relative to them). AdamW, cosine schedule, " +
                    $"{parse.GetValue(steps)} steps " +
                $"of {parse.GetValue(batch)} images, the best validation checkpoint tested; VPT with " +
                    $"{parse.GetValue(tokens)} prompt tokens per " +
                $"prompted layer; accuracies are means over seeds {string.Join(", ", seedList)}, times sums. \"train " +
                    $"tokens/s\" counts patch, CLS and prompt tokens.\n\n" +
                $"Made by: `softprompt vit compare {string.Join(' ', Environment.GetCommandLineArgs().Skip(3))}`");
            var table = new ComparisonTable(header, VisualComparisonRun.MetricNames, backbone, rows);
            string path = parse.GetValue(output)!;
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
            table.WriteReport(path);
            Console.WriteLine(table.Markdown());
            return 0;
        });
        return command;
    }
}
