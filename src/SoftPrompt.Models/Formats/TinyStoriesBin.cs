using System.Runtime.InteropServices;
using System.Text;
using SoftPrompt.Engine.IO;

namespace SoftPrompt.Models.Formats;

/// <summary>SentencePiece-style vocabulary: piece i is token id i; higher scores merge first.</summary>
public sealed record TinyStoriesVocab(string[] Pieces, float[] Scores);

/// <summary>A weight matrix or vector in row-major order.</summary>
public sealed record WeightArray(int[] Shape, float[] Data);

/// <summary>Weights keyed by Hugging Face LLaMA names (model.embed_tokens.weight,
/// model.layers.{i}.self_attn.q_proj.weight, ...).</summary>
public sealed record TinyStoriesModel(ModelConfig Config, TinyStoriesVocab Vocab, IReadOnlyDictionary<string,
    WeightArray> Weights);

/// <summary>
/// Reads the single-file LLaMA format of the TinyStories-260K model (shared/models/tinystories-260k, see its
/// FORMAT.md): a 256-byte header, the vocabulary, then float32 weights grouped by kind across layers. Weights come out
/// in HF's [out, in] layout, but q/k rows stay in interleaved rotary order, hence
/// <see cref="RotaryPairing.Interleaved"/>.
/// </summary>
public static class TinyStoriesBin
{
    public const int HeaderBytes = 256;
    public const byte SupportedVersion = 1;

    // Generous bounds for this format family; anything beyond them is a corrupt or hostile header, and checking
    // them first keeps every later size computation far from overflow.
    private const int MaxWidth = 1 << 16, MaxVocab = 1 << 20, MaxLayers = 1024, MaxPositions = 1 << 20,
        MaxPieceBytes = 4096;

    public static TinyStoriesModel Read(string path)
    {
        using var handle = ModelFiles.OpenForReading(path);
        long fileLength = RandomAccess.GetLength(handle);
        if (fileLength < HeaderBytes)
            throw new ModelFormatException(path,
                $"the file is {fileLength} bytes, shorter than the {HeaderBytes}-byte header.");
        using var stream = new FileStream(handle, FileAccess.Read, bufferSize: 1 << 16);
        using var reader = new BinaryReader(stream, Encoding.UTF8, leaveOpen: true);
        try
        {
            var (config, shared) = ReadHeader(path, reader);
            var layout = WeightLayout(config, shared);
            long weightBytes = 4 * CountWeights(path, layout);
            long smallestVocabBytes = 8L * config.VocabSize;
            if (fileLength < HeaderBytes + smallestVocabBytes + weightBytes)
                throw new ModelFormatException(path,
                    $"the file is {fileLength} bytes, but its header implies at least " +
                    $"{HeaderBytes + smallestVocabBytes + weightBytes} " +
                    $"({config.VocabSize} vocabulary entries and {weightBytes / 4} weights): it is truncated.");

            var vocab = ReadVocab(path, reader, config.VocabSize, fileLength, weightBytes);
            long actualWeightBytes = fileLength - stream.Position;
            if (actualWeightBytes != weightBytes)
                throw new ModelFormatException(path,
                    $"after the vocabulary there are {actualWeightBytes} bytes of weights, but the header implies " +
                    $"exactly {weightBytes} " +
                    $"({weightBytes / 4} floats): the file is " +
                        $"{(actualWeightBytes < weightBytes ? "truncated" : "longer than expected")}.");

            var weights = new Dictionary<string, WeightArray>(StringComparer.Ordinal);
            foreach (var (name, shape) in layout)
            {
                var data = new float[Engine.Tensor.ShapeLength(shape)];
                stream.ReadExactly(MemoryMarshal.AsBytes(data.AsSpan()));
                weights.Add(name, new WeightArray(shape, data));
            }
            return new TinyStoriesModel(config, vocab, weights);
        }
        catch (EndOfStreamException e)
        {
            throw new ModelFormatException(path, "the file ended early (was it truncated while being read?).", e);
        }
    }

    /// <summary>All weights' elements; the sizes are bounded, so only one tensor exceeding an array can go
    /// wrong.</summary>
    private static long CountWeights(string path, IReadOnlyList<(string Name, int[] Shape)> layout)
    {
        long total = 0;
        foreach (var (name, shape) in layout)
        {
            long count = 1;
            foreach (int size in shape) count *= size;
            if (count > Array.MaxLength)
                throw new ModelFormatException(path,
                    $"the header's sizes make {name} {count} floats, more than one array can hold.");
            total += count;
        }
        return total;
    }

    /// <summary>The weights in file order, under their HF LLaMA names, with [out, in] shapes.</summary>
    public static IReadOnlyList<(string Name, int[] Shape)> WeightLayout(ModelConfig config, bool sharedOutputWeight)
    {
        int d = config.HiddenSize, f = config.IntermediateSize, v = config.VocabSize, kv = config.KvWidth;
        var layout = new List<(string, int[])> { ("model.embed_tokens.weight", [v, d]) };
        void PerLayer(string suffix, int[] shape)
        {
            for (int i = 0; i < config.NumLayers; i++) layout.Add(($"model.layers.{i}.{suffix}", (int[])shape.Clone()));
        }
        PerLayer("input_layernorm.weight", [d]);
        PerLayer("self_attn.q_proj.weight", [d, d]);
        PerLayer("self_attn.k_proj.weight", [kv, d]);
        PerLayer("self_attn.v_proj.weight", [kv, d]);
        PerLayer("self_attn.o_proj.weight", [d, d]);
        PerLayer("post_attention_layernorm.weight", [d]);
        PerLayer("mlp.gate_proj.weight", [f, d]);
        PerLayer("mlp.up_proj.weight", [f, d]);
        PerLayer("mlp.down_proj.weight", [d, f]);
        layout.Add(("model.norm.weight", [d]));
        if (!sharedOutputWeight) layout.Add(("lm_head.weight", [v, d]));
        return layout;
    }

    private static (ModelConfig Config, bool Shared) ReadHeader(string path, BinaryReader reader)
    {
        ModelFormatException Bad(string problem) => new(path, problem);

        byte version = reader.ReadByte();
        if (version != SupportedVersion)
            throw Bad($"format version is {version}; only version {SupportedVersion} is supported.");
        int typeLength = reader.ReadInt32();
        const int fixedFields = 1 + 4 + 7 * 4 + 1;
        if (typeLength <= 0 || typeLength > HeaderBytes - fixedFields)
            throw Bad($"the model type's length is {typeLength}, outside 1..{HeaderBytes - fixedFields}.");
        string modelType = Encoding.ASCII.GetString(reader.ReadBytes(typeLength));
        if (modelType != "llama")
            throw Bad($"model type is \"{modelType}\"; only \"llama\" is supported.");

        int Size(string name, int max)
        {
            int value = reader.ReadInt32();
            return value > 0 && value <= max ? value : throw Bad($"{name} is {value}, outside 1..{max}.");
        }
        int hidden = Size("hidden_size", MaxWidth);
        int intermediate = Size("intermediate_size", 4 * MaxWidth);
        int maxSequence = Size("max_sequence_length", MaxPositions);
        int vocabSize = Size("vocab_size", MaxVocab);
        int layers = Size("num_layers", MaxLayers);
        int heads = Size("num_query_heads", hidden);
        int kvHeads = Size("num_key_value_heads", heads);
        byte shared = reader.ReadByte();
        if (shared > 1) throw Bad($"shared_output_weight is {shared}; it must be 0 or 1.");

        int used = fixedFields + typeLength;
        var padding = reader.ReadBytes(HeaderBytes - used);
        int nonZero = Array.FindIndex(padding, b => b != 0);
        if (nonZero >= 0)
            throw Bad(
                $"header byte {used + nonZero} is {padding[nonZero]}, but the header must be zero after its fields " +
                $"(a newer format version?).");

        var config = new ModelConfig
        {
            Architecture = Architecture.Llama,
            VocabSize = vocabSize,
            HiddenSize = hidden,
            NumLayers = layers,
            NumHeads = heads,
            NumKvHeads = kvHeads,
            IntermediateSize = intermediate,
            MaxPositions = maxSequence,
            NormEps = 1e-5f,
            RopeTheta = 10000f,
            RotaryPairing = RotaryPairing.Interleaved,
            TieWordEmbeddings = shared == 1,
            BosTokenId = 1,
            EosTokenId = 2,
            HiddenAct = "silu",
        };
        config.ValidateFrom(path);
        return (config, shared == 1);
    }

    private static TinyStoriesVocab ReadVocab(string path, BinaryReader reader, int size, long fileLength,
        long weightBytes)
    {
        long vocabEnd = fileLength - weightBytes;
        var strictUtf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
        var pieces = new string[size];
        var scores = new float[size];
        for (int i = 0; i < size; i++)
        {
            float score = reader.ReadSingle();
            int length = reader.ReadInt32();
            if (!float.IsFinite(score))
                throw new ModelFormatException(path, $"vocabulary entry {i} has score {score}; scores must be finite.");
            if (length < 0 || length > MaxPieceBytes)
                throw new ModelFormatException(path,
                    $"vocabulary entry {i} claims {length} bytes, outside 0..{MaxPieceBytes}.");
            if (reader.BaseStream.Position + length > vocabEnd)
                throw new ModelFormatException(path,
                    $"vocabulary entry {i} ({length} bytes) runs into the last {weightBytes} bytes, " +
                    $"which must hold the {weightBytes / 4} floats of weights the header implies: the file is " +
                        $"truncated or corrupt.");
            try
            {
                pieces[i] = strictUtf8.GetString(reader.ReadBytes(length));
            }
            catch (DecoderFallbackException e)
            {
                throw new ModelFormatException(path, $"vocabulary entry {i} is not valid UTF-8.", e);
            }
            scores[i] = score;
        }
        return new TinyStoriesVocab(pieces, scores);
    }
}
