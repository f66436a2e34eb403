using System.Buffers.Binary;

namespace SoftPrompt.Training.Pretraining;

/// <summary>
/// A corpus as one stream of token ids, documents separated by a separator token (end of text), from which
/// fixed-length training windows are drawn: inputs are tokens [s, s+T), targets [s+1, s+T+1).
/// </summary>
public sealed class TokenCorpus
{
    private const uint Magic = 0x4B545053; // "SPTK"

    public TokenCorpus(int[] tokens)
    {
        Tokens = tokens;
    }

    public int[] Tokens { get; }
    public int Length => Tokens.Length;

    /// <summary>Encodes each document and joins them, each followed by <paramref name="separator"/>.</summary>
    public static TokenCorpus FromDocuments(IEnumerable<string> documents, Func<string, int[]> encode, int separator)
    {
        var tokens = new List<int>();
        foreach (var doc in documents)
        {
            if (string.IsNullOrWhiteSpace(doc)) continue;
            tokens.AddRange(encode(doc));
            tokens.Add(separator);
        }
        return new TokenCorpus(tokens.ToArray());
    }

    private void RequireWindow(int context)
    {
        if (Length < context + 1)
            throw new InvalidOperationException(
                $"The corpus has {Length} tokens, fewer than one window of {context + 1} (context + 1).");
    }

    /// <summary>B windows at random offsets. inputs and targets are (B·T), row-major.</summary>
    public void SampleBatch(Random rng, int batch, int context, int[] inputs, int[] targets)
    {
        RequireWindow(context);
        for (int b = 0; b < batch; b++)
        {
            int start = rng.Next(Length - context);
            Array.Copy(Tokens, start, inputs, b * context, context);
            Array.Copy(Tokens, start + 1, targets, b * context, context);
        }
    }

    /// <summary>
    /// Consecutive non-overlapping windows from the start, grouped in batches (the last batch may be short), at most
    /// <paramref name="maxBatches"/>: a fixed evaluation set.
    /// </summary>
    public IEnumerable<(int[] Inputs, int[] Targets, int Batch)> EvaluationBatches(int batch, int context,
        int maxBatches)
    {
        RequireWindow(context);
        int windows = (int)Math.Min((Length - 1) / context, (long)batch * maxBatches);
        for (int first = 0; first < windows; first += batch)
        {
            int rows = Math.Min(batch, windows - first);
            var inputs = new int[rows * context];
            var targets = new int[rows * context];
            for (int r = 0; r < rows; r++)
            {
                int start = (first + r) * context;
                Array.Copy(Tokens, start, inputs, r * context, context);
                Array.Copy(Tokens, start + 1, targets, r * context, context);
            }
            yield return (inputs, targets, rows);
        }
    }

    /// <summary>A cache file: magic, count, then little-endian int32 ids.</summary>
    public void Save(string path)
    {
        var bytes = new byte[8 + 4L * Length];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, Magic);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(4), Length);
        for (int i = 0; i < Length; i++) BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(8 + 4 * i), Tokens[i]);
        string temporary = path + ".tmp";
        File.WriteAllBytes(temporary, bytes);
        File.Move(temporary, path, overwrite: true);
    }

    public static TokenCorpus Load(string path, int vocabSize)
    {
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length < 8 || BinaryPrimitives.ReadUInt32LittleEndian(bytes) != Magic)
            throw new InvalidDataException($"{path}: not a token cache (bad magic).");
        int count = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(4));
        if (count < 0 || 8 + 4L * count != bytes.Length)
            throw new InvalidDataException($"{path}: says {count} tokens but holds {(bytes.Length - 8) / 4}.");
        var tokens = new int[count];
        for (int i = 0; i < count; i++)
        {
            tokens[i] = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(8 + 4 * i));
            if ((uint)tokens[i] >= (uint)vocabSize)
                throw new InvalidDataException(
                    $"{path}: token {tokens[i]} at index {i} is outside the vocabulary of {vocabSize}.");
        }
        return new TokenCorpus(tokens);
    }
}
