using SoftPrompt.Data.Images;
using SoftPrompt.Engine;
using SoftPrompt.Engine.Autograd;
using SoftPrompt.Models;
using SoftPrompt.Tuning.Heads;
using SoftPrompt.Tuning.PromptTuning;

namespace SoftPrompt.Tuning.VisualPrompts;

/// <summary>
/// Cross-entropy of a head on the ViT's final CLS row, optionally with visual prompts inside the model: the objective
/// of pretraining (the model's own classifier as the head), linear probing (a new head), VPT (prompts + a new head) and
/// full fine-tuning (everything). Which tensors train is the caller's choice (<see cref="PromptTuner{TExample}"/>'s
/// list).
/// </summary>
public sealed class ImageClassification : IPromptObjective<LabelledImage>
{
    private const int ScoringBatch = 128;

    public ImageClassification(Vit model, LinearHead head, VisualPrompts? prompts = null)
    {
        if (head.Width != model.Config.HiddenSize)
            throw new ArgumentException(
                $"The head reads features of width {head.Width}; the ViT's are {model.Config.HiddenSize}.");
        Model = model;
        Head = head;
        VisualPrompts = prompts;
    }

    public Vit Model { get; }
    public LinearHead Head { get; }
    public VisualPrompts? VisualPrompts { get; }

    /// <summary>No soft prompt at a text input; the trainer gets its tensors from the caller.</summary>
    public PromptEmbedding? Prompt => null;
    public string ScoreName => "accuracy";

    public const string HeadFile = "head.safetensors";
    public const string PromptsFile = "vpt_prompts.safetensors";

    /// <summary>The ViT's identity, from its patch projection: recorded with a saved head and prompts so that another
    /// backbone of the same width is refused (they mean nothing to it).</summary>
    public static string FingerprintOf(Vit model) => PromptAdapterFiles.FingerprintOf(
        model.Parameter(PatchProjection), model.Config.Patches, model.Config.HiddenSize);

    private const string PatchProjection = "vit.embeddings.patch_embeddings.projection.weight";

    /// <summary>What a linear probe or VPT run trained, for a frozen model: the head and, if any, the prompts, with
    /// the backbone's fingerprint.</summary>
    public void SaveAdapter(string directory)
    {
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, PromptAdapterFiles.TaskFile),
            new System.Text.Json.Nodes.JsonObject { ["base_fingerprint"] = FingerprintOf(Model) }.ToJsonString());
        Head.Save(Path.Combine(directory, HeadFile));
        string prompts = Path.Combine(directory, PromptsFile);
        if (VisualPrompts is not null) VisualPrompts.Save(prompts);
        else File.Delete(prompts); // a linear probe saved over a VPT directory must not load with the old prompts
    }

    /// <summary>A saved head (and prompts, if the directory has them) on <paramref name="model"/>.</summary>
    public static ImageClassification LoadAdapter(string directory, Vit model, IReadOnlyList<string> classes)
    {
        PromptAdapterFiles.CheckBase(directory, FingerprintOf(model));
        var head = LinearHead.Load(Path.Combine(directory, HeadFile), classes, model.Config.HiddenSize, "head");
        string prompts = Path.Combine(directory, PromptsFile);
        return new ImageClassification(model, head, File.Exists(prompts) ? VisualPrompts.Load(prompts, model.Config)
            : null);
    }

    public Tensor Logits(Tape tape, IReadOnlyList<LabelledImage> batch)
    {
        int pixels = Model.Config.PixelsPerImage;
        var input = new float[batch.Count * pixels];
        for (int i = 0; i < batch.Count; i++) batch[i].Pixels.CopyTo(input, i * pixels);
        return Head.Logits(tape, Model.Features(tape, input, batch.Count, VisualPrompts));
    }

    public Tensor Loss(Tape tape, IReadOnlyList<LabelledImage> batch) =>
        Fn.CrossEntropy(tape, Logits(tape, batch), batch.Select(e => e.Label).ToArray());

    /// <summary>The highest-scoring class index of each image.</summary>
    public int[] Predict(IReadOnlyList<LabelledImage> images)
    {
        var tape = new Tape(recording: false);
        var predictions = new List<int>(images.Count);
        int classes = Head.Classes.Count;
        foreach (var chunk in images.Chunk(ScoringBatch))
        {
            tape.Reset();
            var scores = Logits(tape, chunk).ReadOnlySpan;
            for (int i = 0; i < chunk.Length; i++)
            {
                var row = scores.Slice(i * classes, classes);
                int best = 0;
                for (int c = 1; c < classes; c++) if (row[c] > row[best]) best = c;
                predictions.Add(best);
            }
        }
        tape.Reset();
        return predictions.ToArray();
    }

    /// <summary>Accuracy and macro-F1 over the head's classes, and what always answering the most common class of
    /// <paramref name="examples"/> scores.</summary>
    public (double Accuracy, double MacroF1, string Majority, double MajorityAccuracy, double MajorityMacroF1) Evaluate(
        IReadOnlyList<LabelledImage> examples)
    {
        var classes = Head.Classes;
        var gold = examples.Select(e => classes[e.Label]).ToArray();
        var (accuracy, macroF1) = LabelPredictorExtensions.Score(gold,
            Predict(examples).Select(c => classes[c]).ToArray(), classes);
        var (majority, majorityAccuracy, majorityF1) = LabelPredictorExtensions.Majority(gold, classes);
        return (accuracy, macroF1, majority, majorityAccuracy, majorityF1);
    }

    public double Score(IReadOnlyList<LabelledImage> examples)
    {
        if (examples.Count == 0) return 0;
        var predicted = Predict(examples);
        return predicted.Where((label, i) => label == examples[i].Label).Count() / (double)examples.Count;
    }
}
