using SoftPrompt.Engine;
using SoftPrompt.Engine.Autograd;
using SoftPrompt.Models;

namespace SoftPrompt.Tuning.PrefixTuning;

/// <summary>
/// Rows of one batch that carry different prefixes — prefix tuning and deep prompts of other tasks, other lengths,
/// other layers — or none. At each layer every row gets its own key/value rows, padded to the longest with masked
/// filler, so a row attends exactly to what it would alone. What PEFT cannot do (peft #759) and mixed-task serving
/// needs.
/// </summary>
public sealed class MixedPrefixes(IReadOnlyList<PrefixAdapter?> rowPrefixes) : ILayerHooks
{
    private readonly Dictionary<PrefixAdapter, Tensor> _rowsThisPass = new();

    public ExtraKeyValues? ExtraKeyValues(Tape tape, int layer, int batch)
    {
        if (batch != rowPrefixes.Count)
            throw new ArgumentException($"{rowPrefixes.Count} row prefixes for a batch of {batch}.");
        if (layer == 0) _rowsThisPass.Clear(); // a new pass: the previous tape's tensors are gone
        var slots = rowPrefixes.Select(a => a is null ? -1 : a.SlotOf(layer)).ToArray();
        int longest = rowPrefixes.Select((a, r) => slots[r] < 0 ? 0 : a!.VirtualTokens).Max();
        if (longest == 0) return null;
        int width = rowPrefixes.First(a => a is not null)!.KvWidth;
        var keys = new Tensor[batch];
        var values = new Tensor[batch];
        var padding = new bool[batch * longest];
        for (int r = 0; r < batch; r++)
        {
            var adapter = rowPrefixes[r];
            int p = slots[r] < 0 ? 0 : adapter!.VirtualTokens;
            if (p > 0 && adapter!.KvWidth != width)
                throw new ArgumentException($"Row {r}'s prefix is {adapter.KvWidth} wide, another row's {width}.");
            for (int i = p; i < longest; i++) padding[r * longest + i] = true;
            if (p == 0)
            {
                keys[r] = values[r] = tape.NewTensor(new[] { 1, longest, width }, zero: true);
                continue;
            }
            if (!_rowsThisPass.TryGetValue(adapter!, out var rows)) _rowsThisPass[adapter!] = rows =
                adapter!.Rows(tape);
            keys[r] = Padded(tape, Fn.Slice(tape, rows, 1, 2 * slots[r] * width, width), longest);
            values[r] = Padded(tape, Fn.Slice(tape, rows, 1, (2 * slots[r] + 1) * width, width), longest);
        }
        return new ExtraKeyValues(Fn.Concat(tape, 0, keys), Fn.Concat(tape, 0, values), padding);
    }

    public Tensor LayerInput(Tape tape, int layer, Tensor hidden) => hidden;

    // (p, W) → (1, longest, W) with zero filler that the padding mask hides.
    private static Tensor Padded(Tape tape, Tensor rows, int longest)
    {
        int p = rows.Dim(0), w = rows.Dim(1);
        var one = rows.Reshape(1, p, w);
        return p == longest ? one : Fn.Concat(tape, 1, one, tape.NewTensor(new[] { 1, longest - p, w }, zero: true));
    }
}
