using SoftPrompt.Data.Tasks;
using SoftPrompt.Data.Tokenizers;
using SoftPrompt.Engine;
using SoftPrompt.Models;
using SoftPrompt.Tuning.PromptTuning;

namespace SoftPrompt.Tuning.EncoderDecoder;

/// <summary>What a method of the registry is given to adapt a T5 to one classification task
/// (<see cref="TuningMethod.PrepareEncoderDecoder"/>).</summary>
/// <param name="BaseModel">Where the base came from, for the adapter files' base_model_name_or_path.</param>
public sealed record EncoderDecoderContext(T5 Model, ITokenizer Tokenizer, ClassificationTask Task,
    MethodSettings Settings, string BaseModel)
{
    /// <summary>Text-to-text classification over the base, with a soft prompt on the encoder input and/or an adapter
    /// in its blocks.</summary>
    public T5Classifier Classifier(PromptEmbedding? prompt = null, IModelAdapter? adapter = null) =>
        new(Model, Tokenizer, Task, prompt) { Adapter = adapter };

    /// <summary>The base's identity, recorded in adapter files so that another base is refused.</summary>
    public string Fingerprint => PromptAdapterFiles.FingerprintOf(Model.TokenEmbedding, Model.Config);
}

/// <summary>A method ready to train on a T5 (or, with <see cref="Training"/> null, to evaluate as it is).</summary>
/// <param name="Trainable">What the optimizer updates; empty for prompt design.</param>
/// <param name="StoredValues">What one task keeps beside the shared base.</param>
/// <param name="Note">What was set up, in words (the report's description column).</param>
/// <param name="Save">Writes the task's adapter directory; null where there is nothing small to keep (full
/// fine-tuning).</param>
public sealed record T5Setup(T5Classifier Classifier, IReadOnlyList<Tensor> Trainable, long StoredValues,
    PromptTuningOptions? Training, string Note, Action<string>? Save = null);
