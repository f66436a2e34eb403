using System.Text.Json;
using SoftPrompt.Engine;
using SoftPrompt.Engine.Autograd;
using SoftPrompt.Engine.IO;

namespace SoftPrompt.Tuning.Heads;

/// <summary>
/// A linear layer from a final hidden state (D) to one score per class: P-tuning v2's alternative to a verbalizer,
/// trained together with the adapter. Weight (C, D), bias (C).
/// </summary>
public sealed class LinearHead
{
    private const string ClassesKey = "classes";

    /// <param name="name">Prefix of the tensors' names (checkpoints tell the tensors apart by name).</param>
    public LinearHead(IReadOnlyList<string> classes, int width, string name, int seed = 1)
    {
        if (classes.Count < 2) throw new ArgumentException($"A head needs at least two classes (got {classes.Count}).");
        Classes = classes.ToArray();
        Weight = Tensor.Parameter(new[] { classes.Count, width }, trainable: true, name + ".weight");
        Bias = Tensor.Parameter(new[] { classes.Count }, trainable: true, name + ".bias");
        DefaultInit.Linear(Weight, Bias, new Random(seed));
    }

    /// <summary>A head over existing tensors, e.g. a pretrained model's own classifier (weight (C, D), bias
    /// (C)).</summary>
    public LinearHead(IReadOnlyList<string> classes, Tensor weight, Tensor bias)
    {
        if (weight.Rank != 2 || weight.Dim(0) != classes.Count || bias.Length != classes.Count)
            throw new ArgumentException(
                $"A head for {classes.Count} classes needs weight ({classes.Count}, D) and bias ({classes.Count}); " +
                $"got [{string.Join(", ", weight.Shape)}] and [{string.Join(", ", bias.Shape)}].");
        Classes = classes.ToArray();
        Weight = weight;
        Bias = bias;
    }

    public IReadOnlyList<string> Classes { get; }
    public Tensor Weight { get; }
    public Tensor Bias { get; }
    public int Width => Weight.Dim(1);
    public IReadOnlyList<Tensor> Tensors => new[] { Weight, Bias };

    /// <summary>Scores (N, C) of hidden states (N, D).</summary>
    public Tensor Logits(Tape tape, Tensor hidden) => Fn.Linear(tape, hidden, Weight, Bias);

    /// <summary>weight and bias, with the class names in the file's metadata.</summary>
    public void Save(string path) =>
        SafeTensorsWriter.Write(path,
            new[]
            {
                ("weight", Weight.Shape, (ReadOnlyMemory<float>)Weight.ToArray()),
                ("bias", Bias.Shape, (ReadOnlyMemory<float>)Bias.ToArray()),
            },
            metadata: new Dictionary<string, string> { ["format"] = "pt", [ClassesKey] = JsonSerializer.Serialize(
                Classes) });

    /// <summary>Loads a head for hidden states of <paramref name="width"/>, checking its classes against
    /// <paramref name="classes"/>.</summary>
    public static LinearHead Load(string path, IReadOnlyList<string> classes, int width, string name)
    {
        var file = SafeTensorsFile.Open(path);
        string[]? stored = null;
        try
        {
            if (file.Metadata.TryGetValue(ClassesKey, out var json)) stored = JsonSerializer.Deserialize<string[]>(
                json);
        }
        catch (JsonException) { }
        if (stored is null) throw new ModelFormatException(path,
            $"its metadata has no \"{ClassesKey}\" list of class names.");
        if (!stored.SequenceEqual(classes))
            throw new ModelFormatException(path,
                $"the head's classes [{string.Join(", ", stored)}] are not the task's [{string.Join(", ", classes)}].");
        var head = new LinearHead(classes, width, name);
        foreach (var (tensor, storedName) in new[] { (head.Weight, "weight"), (head.Bias, "bias") })
        {
            if (!file.Contains(storedName)) throw new ModelFormatException(path, $"no tensor named {storedName}.");
            var shape = file.Info(storedName).Shape;
            if (!shape.SequenceEqual(tensor.Shape))
                throw new ModelFormatException(path,
                    $"{storedName} has shape [{string.Join(", ", shape)}]; the model and task need " +
                    $"[{string.Join(", ", tensor.Shape)}].");
            file.ReadFloat32(storedName, tensor.Span, tensor.Shape);
        }
        return head;
    }
}
