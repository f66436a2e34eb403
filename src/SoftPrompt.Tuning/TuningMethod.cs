using SoftPrompt.Data.Tokenizers;
using SoftPrompt.Engine;
using SoftPrompt.Models;
using SoftPrompt.Tuning.PromptTuning;

namespace SoftPrompt.Tuning;

/// <summary>Knobs that several methods share; each method reads the ones it has.</summary>
public sealed record MethodSettings
{
    /// <summary>Virtual tokens of the prompt methods (prompt tuning, P-tuning, prefix, deep prompts, LLaMA-Adapter).</summary>
    public int PromptLength { get; init; } = 20;
    /// <summary>Layers that top-k fine-tuning (and methods limited to the top layers) train.</summary>
    public int TopLayers { get; init; } = 2;
    /// <summary>In-context demonstrations of the few-shot baseline.</summary>
    public int Shots { get; init; } = 4;
    public int Seed { get; init; } = 1;
    /// <summary>Training steps and batch every trained method uses; learning rates and optimizers are per method.</summary>
    public PromptTuningOptions Training { get; init; } = new();
}

/// <summary>
/// What a method is given for one task: the frozen model, the training examples, and how the task turns a prompt,
/// an adapter and a text prefix into an objective (a classifier or a generator) — so methods need not know the task type.
/// </summary>
public sealed class MethodContext<TExample>
{
    public required CausalLanguageModel Model { get; init; }
    /// <summary>Where the base came from, for the adapter files' base_model_name_or_path.</summary>
    public string BaseModel { get; init; } = "";
    public required ITokenizer Tokenizer { get; init; }
    public required IReadOnlyList<TExample> Train { get; init; }
    public required MethodSettings Settings { get; init; }
    /// <summary>(soft prompt or null, adapter or null, text placed before every input) → objective.</summary>
    public required Func<PromptEmbedding?, IModelAdapter?, string, IPromptObjective<TExample>> Objective { get; init; }
    /// <summary>The tokens of an example's rendered input (for frequency-sampled prompt inits).</summary>
    public required Func<TExample, int[]> InputTokens { get; init; }
    /// <summary>The task, when it is a classification task (methods with their own objective need it).</summary>
    public Data.Tasks.ClassificationTask? LabeledTask { get; init; }
    /// <summary>Each label's verbalizer tokens; empty for generation.</summary>
    public IReadOnlyList<int[]> LabelTokens { get; init; } = Array.Empty<int[]>();
    /// <summary>The task is read by a head only (sequence labelling): no verbalizer, so every method trains
    /// <see cref="WithHead"/>'s head beside its own tensors, and methods without a head path do not apply.</summary>
    public bool RequiresHead { get; init; }
    /// <summary>A classification head's objective over the model with this adapter (P-tuning v2's head instead of a
    /// verbalizer); null where the task has no labels.</summary>
    public Func<ITrainableAdapter?, Heads.HeadObjective<TExample>>? WithHead { get; init; }
    /// <summary>k labelled demonstrations as text, for the few-shot baseline; null where the task has none.</summary>
    public Func<int, int, string>? Demonstrations { get; init; }
}

/// <summary>A method ready to train (or, with <see cref="Training"/> null, to evaluate as it is).</summary>
/// <param name="StoredValues">Values a task keeps (the table's trainable-parameter figure).</param>
/// <param name="Save">Writes the task's adapter directory; null where there is nothing to keep.</param>
/// <param name="Search">For methods that do not train by gradient steps (discrete prompt search): runs on (train,
/// validation) and returns the steps taken and the final note.</param>
public sealed record PreparedMethod<TExample>(IPromptObjective<TExample> Objective, IReadOnlyList<Tensor> Trainable, long StoredValues,
    PromptTuningOptions? Training, string Note, Action<string>? Save = null,
    Func<IReadOnlyList<TExample>, IReadOnlyList<TExample>, (int Steps, string Note)>? Search = null);

/// <summary>
/// One way of adapting the frozen model, as `softprompt compare` runs it: PEFT's registry idea — one entry per method,
/// each method's code in its own folder. <see cref="TuningMethods.All"/> lists them.
/// </summary>
public abstract class TuningMethod
{
    /// <summary>As `--methods` spells it.</summary>
    public abstract string Name { get; }
    public abstract string Summary { get; }
    /// <summary>False for methods that only make sense with labels (few-shot demonstrations, answer-side prompts).</summary>
    public virtual bool SupportsGeneration => true;
    /// <summary>Whether the method can train a head beside its own tensors (tasks without a verbalizer).</summary>
    public virtual bool SupportsHeads => false;
    public abstract PreparedMethod<TExample> Prepare<TExample>(MethodContext<TExample> context);
}
