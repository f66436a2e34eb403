using SoftPrompt.Models;
using SoftPrompt.Tuning.EncoderDecoder;

namespace SoftPrompt.Tuning;

/// <summary>
/// A method whose trained part lives inside the layer stack (prefix tuning, deep prompts, LoRA, bottleneck adapters,
/// LLaMA-Adapter): the task's own verbalizer reads the output, or, with <paramref name="withHead"/>, a linear head
/// trained beside the adapter (P-tuning v2's alternative to a verbalizer). Adapters that only use the generic layer
/// hooks run on encoders too, where the verbalizer is read at the cloze template's [MASK]; with
/// <paramref name="createOnT5"/>, on a T5's encoder and decoder blocks, its decoder writing the label word.
/// </summary>
public sealed class LayerAdapterMethod(string name, string summary, Func<TransformerModel, MethodSettings,
    ITrainableAdapter> create,
    float learningRate, ModelFamilies families, bool withHead = false,
    Func<T5, MethodSettings, ITrainableAdapter>? createOnT5 = null) : TuningMethod
{
    public override string Name => name;
    public override string Summary => summary;
    public override ModelFamilies Families => createOnT5 is null ? families : families | ModelFamilies.EncoderDecoder;

    public override bool SupportsGeneration => !withHead;
    public override bool SupportsHeads => true;

    protected override T5Setup PrepareForEncoderDecoder(EncoderDecoderContext context)
    {
        var adapter = createOnT5!(context.Model, context.Settings);
        var training = context.Settings.Training with { Optimizer = "adamw", LearningRate = learningRate,
            WeightDecay = 0f };
        return new T5Setup(context.Classifier(adapter: adapter), adapter.Trainable, adapter.StoredValueCount, training,
            $"{summary}, in the encoder's and the decoder's blocks; AdamW lr {learningRate}",
            directory => adapter.Save(directory, context.BaseModel));
    }

    protected override PreparedMethod<T> PrepareFor<T>(MethodContext<T> context)
    {
        var adapter = create(context.Model, context.Settings);
        var training = context.Settings.Training with { Optimizer = "adamw", LearningRate = learningRate,
            WeightDecay = 0f };
        string note = $"{summary}; AdamW lr {learningRate}";
        if (!withHead && !context.RequiresHead)
            return new(context.Objective(null, adapter, ""), adapter.Trainable, adapter.StoredValueCount, training,
                note,
                directory => adapter.Save(directory, context.BaseModel));
        var headed = (context.WithHead ?? throw new ArgumentException(
            $"{name} needs a classification task for its head."))(adapter);
        return new(headed, headed.Trainable, headed.StoredValueCount, training, note + "; linear head",
            directory => headed.Save(directory, context.BaseModel));
    }
}
