using SoftPrompt.Data.Tasks;
using SoftPrompt.Engine;
using SoftPrompt.Models;
using SoftPrompt.Tuning.PrefixTuning;
using SoftPrompt.Tuning.PromptTuning;

namespace SoftPrompt.Tuning.EncoderDecoder;

/// <summary>A method of the T5 comparison: what it trains on a fresh copy of the base, and how.</summary>
/// <param name="Prepare">Null for a baseline that uses no model (bow): it is fitted on the task's texts alone.</param>
public sealed record T5Method(string Name, string Description, Func<T5, ClassificationTask, Data.Tokenizers.ITokenizer,
    MethodSettings, T5Setup>? Prepare);

/// <param name="Trainable">What the optimizer updates; empty for prompt design.</param>
/// <param name="StoredValues">What one task keeps beside the shared base.</param>
public sealed record T5Setup(T5Classifier Classifier, IReadOnlyList<Tensor> Trainable, long StoredValues,
    PromptTuningOptions? Training);

/// <summary>The methods `t5 compare` runs on an encoder-decoder (T5): prompt design, prompt tuning on the encoder
/// input, prefix tuning in both stacks, full fine-tuning, and the model-free bag-of-words baseline.</summary>
public static class T5Methods
{
    public static IReadOnlyList<T5Method> All { get; } =
    [
        new("bow", new Tuning.BagOfWords.BagOfWordsMethod().Summary, null),
        new("zero-shot", "prompt design: the template alone, labels ranked by the decoder",
            (model, task, tokenizer, s) => new T5Setup(new T5Classifier(model, tokenizer, task, null), [], 0, null)),
        new("prompt", "prompt tuning on the encoder input: [P; x] (Lester et al.), uniform init, Adafactor 0.3",
            (model, task, tokenizer, s) =>
            {
                var prompt = new PromptEmbedding(s.PromptLength, model.Config.HiddenSize);
                prompt.InitializeUniform(s.Seed);
                return new T5Setup(new T5Classifier(model, tokenizer, task, prompt), [prompt.Prompt],
                    prompt.Prompt.Length, s.Training);
            }),
        new("prefix",
            "prefix tuning in encoder and decoder self-attention ([prefix; x], [prefix'; y]) from an MLP, AdamW 5e-3",
            (model, task, tokenizer, s) =>
            {
                var adapter = new PrefixAdapter(model.AdapterConfig, new PrefixTuningOptions(s.PromptLength,
                    Reparameterize: true, Seed: s.Seed));
                return new T5Setup(new T5Classifier(model, tokenizer, task, null) { Adapter = adapter },
                    adapter.Trainable, adapter.StoredValueCount,
                    s.Training with { Optimizer = "adamw", LearningRate = 5e-3f, WeightDecay = 0f });
            }),
        new("ft", "full fine-tuning of every weight, AdamW 3e-4",
            (model, task, tokenizer, s) =>
            {
                model.SetTrainable(true);
                var weights = model.Parameters.Select(p => p.Tensor).Distinct().ToArray();
                return new T5Setup(new T5Classifier(model, tokenizer, task, null), weights, model.ParameterCount,
                    s.Training with { Optimizer = "adamw", LearningRate = 3e-4f, WeightDecay = 0f });
            }),
    ];
}
