using SoftPrompt.Data.Tokenizers;
using SoftPrompt.Engine.IO;

namespace SoftPrompt.Models.Formats;

/// <summary>
/// Every way a model comes in and goes out, in one place: a Hugging Face directory (config.json + model.safetensors or
/// a sharded index), or a llama2.c-style TinyStories .bin. The models keep our own layout ([out, in] weights, HF
/// names); the name and layout differences of each format are handled here, not in the models.
/// </summary>
public static class ModelLoader
{
    /// <param name="bf16Weights">Keep the blocks' weight matrices that the checkpoint stores in BF16 as bfloat16 in
    /// memory (half of float32; ops widen them as they read them, exactly). For a frozen base: a matrix that is later
    /// made trainable is widened to float32 then. Embeddings, norms and biases stay float32.</param>
    public static LoadedModel Load(string path, bool bf16Weights = false)
    {
        if (File.Exists(path) && path.EndsWith(".bin", StringComparison.OrdinalIgnoreCase))
            return LoadTinyStories(path);
        if (Directory.Exists(path)) return LoadHuggingFace(path, bf16Weights);
        if (File.Exists(path))
            throw new ModelFormatException(path,
                "expected a model directory (config.json + model.safetensors) or a TinyStories .bin file.");
        throw new FileNotFoundException($"No model at '{path}': it is neither a directory nor a file.", path);
    }

    private static LoadedModel LoadHuggingFace(string directory, bool bf16Weights)
    {
        string configPath = Path.Combine(directory, "config.json");
        if (!File.Exists(configPath))
            throw new ModelFormatException(directory, "the model directory has no config.json.");
        var config = HfConfig.Read(configPath);
        if (config.Architecture == Architecture.T5)
            throw new ModelFormatException(directory,
                "is a T5 encoder-decoder; it runs through the `softprompt t5` commands (ModelLoader.LoadT5), not as " +
                "a single stack.");
        var model = TransformerModel.Create(config);
        ReadParameters(model, directory, bf16Weights);
        if (bf16Weights) model.HoldBf16CopiesForProducts(); // the LM head's products in bfloat16 too
        return new LoadedModel(model, directory) { Tokenizer = TokenizerLoader.TryLoad(directory) };
    }

    /// <summary>A Hugging Face t5 directory (config.json model_type t5, model.safetensors, tokenizer.json if
    /// any).</summary>
    public static LoadedT5 LoadT5(string directory)
    {
        if (!Directory.Exists(directory))
            throw new FileNotFoundException($"No model directory at '{directory}'.", directory);
        string configPath = Path.Combine(directory, "config.json");
        if (!File.Exists(configPath))
            throw new ModelFormatException(directory, "the model directory has no config.json.");
        var config = HfConfig.Read(configPath);
        if (config.Architecture != Architecture.T5)
            throw new ModelFormatException(configPath,
                $"is a {config.Architecture} model; this needs a T5 encoder-decoder (model_type t5).");
        var model = new T5(config);
        ReadParameters(model, directory);
        return new LoadedT5(model, directory, TokenizerLoader.TryLoad(directory));
    }

    private static void ReadParameters(ParameterizedModel model, string directory, bool bf16Weights = false)
    {
        var source = SafeTensorsIndex.OpenCheckpoint(directory);
        ushort[]? scratch = null;
        foreach (var p in model.Parameters)
        {
            string fileName = FileTensorName(source, "", p.Name);
            var shape = p.Tensor.Shape;
            if (bf16Weights && p.Layer is not null && shape.Length == 2
                && source.Info(fileName).DType == SafeTensorsDType.BF16)
            {
                // one buffer for every matrix: the tensor keeps the values in its own layout, not this array
                if (scratch is null || scratch.Length < p.Tensor.Length) scratch = new ushort[p.Tensor.Length];
                var half = scratch.AsSpan(0, p.Tensor.Length);
                bool conv1D = IsConv1D(p.Name);
                source.ReadBf16(fileName, half, conv1D ? new[] { shape[1], shape[0] } : shape);
                p.Tensor.RequiresGrad = false; // a frozen weight; making it trainable again widens it to float32
                p.Tensor.StoreAsBf16(half, storedTransposed: conv1D);
            }
            else if (IsConv1D(p.Name))
            {
                var stored = source.ReadFloat32(fileName, new[] { shape[1], shape[0] });
                Transpose(stored, shape[1], shape[0]).CopyTo(p.Tensor.Span);
            }
            else
            {
                source.ReadFloat32(fileName, p.Tensor.Span, shape);
            }
        }
    }

    private static LoadedModel LoadTinyStories(string path)
    {
        var file = TinyStoriesBin.Read(path);
        var model = CausalLanguageModel.Create(file.Config);
        foreach (var p in model.Parameters)
        {
            if (!file.Weights.TryGetValue(p.Name, out var w))
                throw new ModelFormatException(path, $"the file has no weights for {p.Name}.");
            if (!w.Shape.SequenceEqual(p.Tensor.Shape))
                throw new ModelFormatException(path,
                    $"tensor {p.Name} has shape [{string.Join(", ", w.Shape)}], expected " +
                    $"[{string.Join(", ", p.Tensor.Shape)}].");
            w.Data.CopyTo(p.Tensor.Span);
        }
        return new LoadedModel(model, path)
        {
            TinyStoriesVocab = file.Vocab,
            Tokenizer = SentencePieceBpeTokenizer.FromScores(file.Vocab.Pieces, file.Vocab.Scores),
        };
    }

    /// <summary>Writes a model as a Hugging Face directory (config.json + model.safetensors), GPT-2 weights back in
    /// Conv1D layout.</summary>
    public static void Save(TransformerModel model, string directory, SafeTensorsDType dtype = SafeTensorsDType.F32)
        => Save(model, model.Config, directory, dtype);

    /// <summary>Writes a T5 as a Hugging Face directory (config.json + model.safetensors; a tied head is left out, as
    /// transformers leaves it out).</summary>
    public static void Save(T5 model, string directory, SafeTensorsDType dtype = SafeTensorsDType.F32)
        => Save(model, model.Config, directory, dtype);

    private static void Save(ParameterizedModel model, ModelConfig config, string directory, SafeTensorsDType dtype)
    {
        Directory.CreateDirectory(directory);
        HfConfig.Write(config, Path.Combine(directory, "config.json"));
        var tensors = model.Parameters
            .Where(p => !(config.TieWordEmbeddings && p.Name == "lm_head.weight"))
            .Select(p =>
            {
                var shape = p.Tensor.Shape;
                return IsConv1D(p.Name)
                    ? (p.Name, new[] { shape[1], shape[0] }, new ReadOnlyMemory<float>(Transpose(p.Tensor.ToArray(),
                        shape[0], shape[1])))
                    : (p.Name, (int[])shape.Clone(), new ReadOnlyMemory<float>(p.Tensor.ToArray()));
            });
        SafeTensorsWriter.Write(Path.Combine(directory, "model.safetensors"), tensors, dtype, new Dictionary<string,
            string> { ["format"] = "pt" });
    }

    /// <summary>
    /// The name a tensor has in a file: ours, or without GPT-2's "transformer." prefix (the original GPT-2 checkpoints
    /// were saved from the bare GPT2Model and lack it), or, for BERT's MLM bias, the decoder's name for the same tensor
    /// (transformers ties the two and may save either), or for T5's shared embedding a stack's copy of it.
    /// </summary>
    public static string FileTensorName(ITensorSource source, string prefix, string name)
    {
        if (source.Contains(prefix + name)) return prefix + name;
        const string gpt2Prefix = "transformer.";
        if (name.StartsWith(gpt2Prefix) && source.Contains(prefix + name[gpt2Prefix.Length..]))
            return prefix + name[gpt2Prefix.Length..];
        const string bertBias = "cls.predictions.bias", bertDecoderBias = "cls.predictions.decoder.bias";
        if (name == bertBias && source.Contains(prefix + bertDecoderBias)) return prefix + bertDecoderBias;
        // T5's stacks share one embedding; a checkpoint may hold it only under a stack's name
        if (name == "shared.weight")
            foreach (string alias in new[] { "encoder.embed_tokens.weight", "decoder.embed_tokens.weight" })
                if (source.Contains(prefix + alias)) return prefix + alias;
        return prefix + name; // the source's own lookup reports the missing tensor with the names it has
    }

    /// <summary>GPT-2's Hugging Face checkpoints store these as Conv1D weights, [in, out].</summary>
    public static bool IsConv1D(string name) =>
        name.StartsWith("transformer.h.") &&
        (name.EndsWith("attn.c_attn.weight") || name.EndsWith("attn.c_proj.weight") || name.EndsWith("mlp.c_fc.weight")
            || name.EndsWith("mlp.c_proj.weight"));

    /// <summary>A row-major (rows, cols) matrix as (cols, rows).</summary>
    public static T[] Transpose<T>(T[] source, int rows, int cols)
    {
        var result = new T[source.Length];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
                result[c * rows + r] = source[r * cols + c];
        return result;
    }
}

/// <summary>A T5 encoder-decoder and the tokenizer that came with it, if any.</summary>
public sealed record LoadedT5(T5 Model, string Source, ITokenizer? Tokenizer);

/// <param name="Transformer">The model, of whichever family the files describe.</param>
public sealed record LoadedModel(TransformerModel Transformer, string Source)
{
    /// <summary>The model as a decoder, for everything that generates or scores left to right.</summary>
    public CausalLanguageModel Model => Transformer as CausalLanguageModel
        ?? throw new ModelFormatException(Source,
            $"is a {Transformer.Config.Architecture} encoder; this needs a causal language model (GPT-2, LLaMA).");

    /// <summary>The model as a BERT encoder, for masked-token objectives and cloze prompts.</summary>
    public Bert Encoder => Transformer as Bert
        ?? throw new ModelFormatException(Source,
            $"is a {Transformer.Config.Architecture} decoder; this needs a BERT encoder.");

    /// <summary>The vocabulary a TinyStories .bin carries, when the model came from one.</summary>
    public TinyStoriesVocab? TinyStoriesVocab { get; init; }

    /// <summary>The tokenizer that came with the model (tokenizer.json, GPT-2 files, or the .bin's vocabulary), if
    /// any.</summary>
    public ITokenizer? Tokenizer { get; init; }
}
