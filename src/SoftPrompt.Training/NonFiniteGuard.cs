using SoftPrompt.Engine;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace SoftPrompt.Training;

/// <summary>What to do when a step's loss or a gradient is NaN or infinite.</summary>
public enum NonFinitePolicy { Stop, Skip }

/// <summary>Finds NaN/Inf in a step's loss and gradients and names where, so a run never silently trains on
/// them.</summary>
public static class NonFiniteGuard
{
    /// <summary>Null when the loss and every gradient are finite; else what is wrong, naming the step and the
    /// tensor.</summary>
    public static string? Problem(int step, float loss, IEnumerable<Tensor> trained)
    {
        if (!float.IsFinite(loss)) return $"step {step}: the loss is {loss}";
        foreach (var t in trained)
        {
            if (!t.HasGrad) continue;
            var g = t.Grad;
            // NaN or ±Inf anywhere makes the sum non-finite (or overflow says as much)
            float sum = TensorPrimitives.Sum(g);
            if (float.IsFinite(sum)) continue;
            int index = FirstNonFinite(g);
            return $"step {step}: the gradient of {t.Name ?? "an unnamed tensor"} is " +
                $"{(index >= 0 ? g[index].ToString() : "too large")}" +
                   (index >= 0 ? $" at element {index}" : "");
        }
        return null;
    }

    private static int FirstNonFinite(ReadOnlySpan<float> values)
    {
        for (int i = 0; i < values.Length; i++) if (!float.IsFinite(values[i])) return i;
        return -1;
    }

    public static NonFinitePolicy ParsePolicy(string name) => name.ToLowerInvariant() switch
    {
        "stop" => NonFinitePolicy.Stop,
        "skip" => NonFinitePolicy.Skip,
        _ => throw new OptionException("OnNonFinite", $"'{name}' is not known: use stop or skip."),
    };
}
