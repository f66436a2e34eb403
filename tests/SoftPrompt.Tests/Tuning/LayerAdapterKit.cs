using SoftPrompt.Data.Tasks;
using SoftPrompt.Engine;
using SoftPrompt.Engine.Optim;
using SoftPrompt.Models;
using SoftPrompt.Models.Formats;
using SoftPrompt.Tests.Support;
using SoftPrompt.Tuning;
using SoftPrompt.Tuning.Adapters;
using SoftPrompt.Tuning.Lora;
using SoftPrompt.Tuning.LlamaAdapter;
using SoftPrompt.Tuning.PromptTuning;

namespace SoftPrompt.Tests.Tuning;

/// <summary>What the tests of the in-layer methods (LoRA, bottleneck adapters, LLaMA-Adapter, (IA)³) share: the methods
/// by name, small models, and a toy task on the real TinyStories model.</summary>
public static class LayerAdapterKit
{
    public static readonly string[] Methods = ["lora", "adapter", "llama-adapter", "ia3"];

    public static ITrainableAdapter Create(string method, CausalLanguageModel model) => method switch
    {
        "lora" => new LoraAdapter(model, new LoraOptions { Rank = 4, Alpha = 4 }),
        "adapter" => new BottleneckAdapter(model, new BottleneckOptions { Size = 8, AfterAttention = true,
            Activation = "silu" }),
        "llama-adapter" => new LlamaAdapter(model, new LlamaAdapterOptions { Length = 4, Layers = 2 }),
        "ia3" => new SoftPrompt.Tuning.Ia3.Ia3Adapter(model),
        _ => throw new ArgumentException(method),
    };

    public static ITrainableAdapter Load(string method, string directory, CausalLanguageModel model) => method switch
    {
        "lora" => LoraAdapter.Load(directory, model),
        "adapter" => BottleneckAdapter.Load(directory, model),
        "llama-adapter" => LlamaAdapter.Load(directory, model),
        "ia3" => SoftPrompt.Tuning.Ia3.Ia3Adapter.Load(directory, model),
        _ => throw new ArgumentException(method),
    };

    /// <summary>A small random model with enough signal in its weights for finite differences to see every
    /// path.</summary>
    public static CausalLanguageModel TinyRandom(Architecture architecture) =>
        TinyRandom(architecture == Architecture.Gpt2 ? "gpt2" : architecture == Architecture.GptNeoX ? "gpt_neox"
            : "llama");

    /// <summary>The decoder families by config.json's model_type: gpt2, llama, qwen2 (q/k/v biases), qwen3 (q/k norms,
    /// head_dim 6 ≠ 16 / 4 heads), phi3 (fused qkv and gate_up), gemma3_text (a local and a global layer, (1 + w) norms
    /// around each sublayer) and gpt_neox (fused per-head qkv, half of each head rotated, parallel residual).</summary>
    public static readonly string[] Families = ["gpt2", "llama", "qwen2", "qwen3", "phi3", "gemma3_text", "gpt_neox"];

    public static CausalLanguageModel TinyRandom(string family)
    {
        var config = new ModelConfig
        {
            Architecture = family switch
            {
                "gpt2" => Architecture.Gpt2, "gpt_neox" => Architecture.GptNeoX, "gemma3_text" => Architecture.Gemma3,
                _ => Architecture.Llama,
            },
            VocabSize = 32, HiddenSize = 16, NumLayers = 2, NumHeads = 4,
            NumKvHeads = family is "gpt2" or "gpt_neox" ? 0 : 2, IntermediateSize = 24, MaxPositions = 16,
            ModelType = family, QkvBias = family == "qwen2", QkNorm = family == "qwen3",
            HeadDimension = family is "qwen3" or "gemma3_text" ? 6 : null,
            LayerKinds = family == "gemma3_text" ? "SF" : null, LocalRopeTheta = family == "gemma3_text" ? 10_000f
                : null,
            AttentionScale = family == "gemma3_text" ? 0.3f : null,
            FusedProjections = family == "phi3", RotaryFraction = family == "gpt_neox" ? 0.5f : 1f,
            ParallelResidual = family == "gpt_neox",
        };
        var model = CausalLanguageModel.Create(config);
        model.InitializeRandom(seed: 3, std: 0.3f);
        return model;
    }

    /// <summary>The real TinyStories-260K LLaMA, loaded afresh: adapters freeze it and merging writes into
    /// it.</summary>
    public static LoadedModel FreshTinyStories() => ModelLoader.Load(SharedModels.TinyStoriesPath);

    public static readonly ClassificationTask Task = new("mood", "Story: {text}\nThe mood was",
        new Dictionary<string, string> { ["happy"] = " happy", ["sad"] = " sad" });

    public static LabeledExample Example(string text, string label) => new(new Dictionary<string,
        string> { ["text"] = text }, label);

    public static readonly LabeledExample[] Examples =
    [
        Example("Lily played with her dog in the sun.", "happy"),
        Example("Tom lost his red ball and cried.", "sad"),
        Example("The bird sang a song for the kids at the big party.", "happy"),
        Example("Sue fell down and hurt her knee.", "sad"),
    ];

    public static PromptClassifier Classifier(LoadedModel loaded, IModelAdapter? adapter)
        => new(loaded.Model, loaded.Tokenizer!, Task, prompt: null) { Adapter = adapter };

    /// <summary>One AdamW update (no weight decay, so a zero gradient really leaves a tensor alone).</summary>
    public static void Step(PromptClassifier classifier, AdamW optimizer, IReadOnlyList<LabeledExample> batch)
    {
        var tape = new Tape();
        var loss = classifier.Loss(tape, batch);
        tape.Backward(loss, [1f]);
        optimizer.Update();
        optimizer.ZeroGrad();
        tape.Reset();
    }

    /// <summary>Moves every adapter tensor off its start, where zero updates and gates hide the tensors behind
    /// them.</summary>
    public static void Perturb(ITrainableAdapter adapter, float range = 0.1f, int seed = 5)
    {
        var rng = new Random(seed);
        float centre = adapter is SoftPrompt.Tuning.Ia3.Ia3Adapter ? 1f : 0f; // (IA)³'s vectors are scales around 1
        foreach (var t in adapter.Trainable)
        {
            var s = t.Span;
            for (int i = 0; i < s.Length; i++) s[i] = centre + (float)((rng.NextDouble() * 2 - 1) * range);
        }
    }

    public static Dictionary<string, float[]> Snapshot(IEnumerable<(string Name, Tensor Tensor)> tensors)
        => tensors.ToDictionary(t => t.Name, t => t.Tensor.ToArray());

    public static bool Changed(Tensor tensor, float[] before) => !tensor.ReadOnlySpan.SequenceEqual(before);
}
