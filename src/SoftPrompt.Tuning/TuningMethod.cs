using SoftPrompt.Data.Tokenizers;
using SoftPrompt.Engine;
using SoftPrompt.Models;
using SoftPrompt.Tuning.PromptTuning;

namespace SoftPrompt.Tuning;

/// <summary>Knobs that several methods share; each method reads the ones it has.</summary>
public sealed record MethodSettings
{
    /// <summary>Virtual tokens of the prompt methods (prompt tuning, P-tuning, prefix, deep prompts,
    /// LLaMA-Adapter).</summary>
    public int PromptLength { get; init; } = 20;
    /// <summary>Layers that top-k fine-tuning (and methods limited to the top layers) train.</summary>
    public int TopLayers { get; init; } = 2;
    /// <summary>In-context demonstrations of the few-shot baseline.</summary>
    public int Shots { get; init; } = 4;
    public int Seed { get; init; } = 1;
    /// <summary>Training steps and batch every trained method uses; learning rates and optimizers are per
    /// method.</summary>
    public PromptTuningOptions Training { get; init; } = new();
    /// <summary>What a classifier scored by label words minimises, for every method that trains one.</summary>
    public ClassificationLoss Loss { get; init; } = ClassificationLoss.Auto;
}

/// <summary>
/// What a method is given for one task: the frozen model, the training examples, and how the task turns a prompt,
/// an adapter and a text prefix into an objective (a classifier or a generator) — so methods need not know the task
/// type.
/// </summary>
public sealed class MethodContext<TExample>
{
    /// <summary>The frozen base: a decoder or an encoder (<see cref="TuningMethod.Families"/> says which a method
    /// takes).</summary>
    public required TransformerModel Model { get; init; }
    /// <summary>The base as a causal language model, for methods that only run on one.</summary>
    public CausalLanguageModel Decoder => Model as CausalLanguageModel
        ?? throw new NotSupportedException(
            $"This method needs {ModelFamily.Describe(ModelFamilies.Decoder)}; the base is " +
            $"{ModelFamily.Describe(ModelFamily.Of(Model))}.");
    /// <summary>Where the base came from, for the adapter files' base_model_name_or_path.</summary>
    public string BaseModel { get; init; } = "";
    public required ITokenizer Tokenizer { get; init; }
    public required IReadOnlyList<TExample> Train { get; init; }
    public required MethodSettings Settings { get; init; }
    /// <summary>(soft prompt or null, adapter or null, text placed before every input) → objective.</summary>
    public required Func<PromptEmbedding?, IModelAdapter?, string, IPromptObjective<TExample>> Objective { get; init; }
    /// <summary>The tokens of an example's rendered input (for frequency-sampled prompt inits).</summary>
    public required Func<TExample, int[]> InputTokens { get; init; }
    /// <summary>The task, when it is a classification task (methods with their own objective need it), with the
    /// template its verbalizer is read through: the task's own on a decoder, its cloze form ("… It was [MASK].") on an
    /// encoder.</summary>
    public Data.Tasks.ClassificationTask? LabeledTask { get; init; }
    /// <summary>Each label's verbalizer tokens; empty for generation.</summary>
    public IReadOnlyList<int[]> LabelTokens { get; init; } = Array.Empty<int[]>();
    /// <summary>The task is read by a head only (sequence labelling): no verbalizer, so every method trains
    /// <see cref="WithHead"/>'s head beside its own tensors, and methods without a head path do not apply.</summary>
    public bool RequiresHead { get; init; }
    /// <summary>A classification head's objective over the model with this adapter (P-tuning v2's head instead of a
    /// verbalizer); null where the task has no labels.</summary>
    public Func<ITrainableAdapter?, Heads.HeadObjective<TExample>>? WithHead { get; init; }
    /// <summary>P-tuning v1's classifier for a template with {soft} slots and the encoder that fills them: the causal
    /// verbalizer's on a decoder, the cloze one on an encoder; null where the task has no labels.</summary>
    public Func<PTuning.PTuningTemplate, PTuning.PromptEncoder, PTuning.IPTuningClassifier>? PTuning { get; init; }
    /// <summary>k labelled demonstrations as text, for the few-shot baseline; null where the task has none.</summary>
    public Func<int, int, string>? Demonstrations { get; init; }
}

/// <summary>A method ready to train (or, with <see cref="Training"/> null, to evaluate as it is).</summary>
/// <param name="StoredValues">Values a task keeps (the table's trainable-parameter figure).</param>
/// <param name="Save">Writes the task's adapter directory; null where there is nothing to keep.</param>
/// <param name="Search">For methods that do not train by gradient steps (discrete prompt search): runs on (train,
/// validation) and returns the steps taken and the final note.</param>
public sealed record PreparedMethod<TExample>(IPromptObjective<TExample> Objective, IReadOnlyList<Tensor> Trainable,
    long StoredValues,
    PromptTuningOptions? Training, string Note, Action<string>? Save = null,
    Func<IReadOnlyList<TExample>, IReadOnlyList<TExample>, (int Steps, string Note)>? Search = null);

/// <summary>
/// One way of adapting the frozen model, as `softprompt compare`, `tune --method`, `t5 compare` and `vit compare` run
/// it: PEFT's registry idea — one entry per method, each method's code in its own folder, one entry serving every
/// model family it fits (<see cref="PrepareFor"/> for decoders and encoders, <see cref="PrepareEncoderDecoder"/> for
/// T5, <see cref="PrepareVision"/> for ViT). <see cref="TuningMethods.All"/> lists them.
/// </summary>
public abstract class TuningMethod
{
    /// <summary>As `--methods` spells it.</summary>
    public abstract string Name { get; }
    public abstract string Summary { get; }
    /// <summary>False for methods that only make sense with labels (few-shot demonstrations, answer-side
    /// prompts).</summary>
    public virtual bool SupportsGeneration => true;
    /// <summary>Whether the method can train a head beside its own tensors (tasks without a verbalizer).</summary>
    public virtual bool SupportsHeads => false;
    /// <summary>The model families the method can adapt; decoders only unless the method says otherwise.</summary>
    public virtual ModelFamilies Families => ModelFamilies.Decoder;

    public bool Supports(ModelFamilies family) => (Families & family) == family;

    /// <summary>False for a baseline fitted on the task's texts alone (bag-of-words): the model takes no
    /// part.</summary>
    public virtual bool UsesModel => true;

    /// <summary>The method set up on the context's model and task; a model of a family it does not support is refused
    /// with one line that says so.</summary>
    public PreparedMethod<TExample> Prepare<TExample>(MethodContext<TExample> context)
    {
        var family = ModelFamily.Of(context.Model);
        if (!Supports(family)) throw new NotSupportedException(TuningMethods.Unsupported(this, family));
        return PrepareFor(context);
    }

    protected abstract PreparedMethod<TExample> PrepareFor<TExample>(MethodContext<TExample> context);

    /// <summary>The method on a T5 encoder-decoder, for a method whose <see cref="Families"/> include
    /// <see cref="ModelFamilies.EncoderDecoder"/>; others are refused with the line that says so.</summary>
    public EncoderDecoder.T5Setup PrepareEncoderDecoder(EncoderDecoder.EncoderDecoderContext context)
    {
        if (!UsesModel)
            throw new NotSupportedException($"Method '{Name}' uses no model: it is fitted on the task's texts alone.");
        if (!Supports(ModelFamilies.EncoderDecoder))
            throw new NotSupportedException(TuningMethods.Unsupported(this, ModelFamilies.EncoderDecoder));
        return PrepareForEncoderDecoder(context);
    }

    protected virtual EncoderDecoder.T5Setup PrepareForEncoderDecoder(EncoderDecoder.EncoderDecoderContext context) =>
        throw new NotSupportedException(TuningMethods.Unsupported(this, ModelFamilies.EncoderDecoder));

    /// <summary>The method on a vision transformer and a new label set, for a method whose <see cref="Families"/>
    /// include <see cref="ModelFamilies.Vision"/>; others are refused with the line that says so.</summary>
    public VisualPrompts.VisualSetup PrepareVision(VisualPrompts.VisionContext context)
    {
        if (!Supports(ModelFamilies.Vision))
            throw new NotSupportedException(TuningMethods.Unsupported(this, ModelFamilies.Vision));
        return PrepareForVision(context);
    }

    protected virtual VisualPrompts.VisualSetup PrepareForVision(VisualPrompts.VisionContext context) =>
        throw new NotSupportedException(TuningMethods.Unsupported(this, ModelFamilies.Vision));
}
