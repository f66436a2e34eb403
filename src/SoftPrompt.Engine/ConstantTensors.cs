using System.Collections.Concurrent;

namespace SoftPrompt.Engine;

/// <summary>
/// Read-only tensors whose every element is one value — 1 for Gemma's (1 + w) norm gains, −1 for (IA)³'s l − 1 — made
/// once per value and shape and shared by every model and thread (nothing trains them, so none gets a gradient).
/// </summary>
public static class ConstantTensors
{
    private static readonly ConcurrentDictionary<(float Value, string Shape), Tensor> Made = new();

    public static Tensor Filled(float value, params int[] shape) =>
        Made.GetOrAdd((value, string.Join(',', shape)), key =>
        {
            var data = new float[shape.Aggregate(1, (n, d) => n * d)];
            Array.Fill(data, key.Value);
            return Tensor.FromArray(data, (int[])shape.Clone());
        });
}
