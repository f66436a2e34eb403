using SoftPrompt.Tuning.EncoderDecoder;

namespace SoftPrompt.Tuning.PromptTuning;

/// <summary>
/// Lester et al.'s prompt tuning as the comparison runs it: class-label init where there are labels (sampled
/// vocabulary otherwise), Adafactor at a learning rate sized to the embeddings (<see cref="PromptScale"/>).
/// <paramref name="placement"/> BeforeAnswer puts the same vectors after the input instead.
/// </summary>
public sealed class PromptTuningMethod(string name, PromptPlacement placement) : TuningMethod
{
    public override string Name => name;
    public override string Summary => placement == PromptPlacement.BeforeInput
        ? "prompt tuning: trainable vectors before the input (Lester et al.)"
        : "prompt tuning with the vectors between input and answer";
    public override bool SupportsGeneration => placement == PromptPlacement.BeforeInput;
    /// <summary>On a T5 the prompt goes before the encoder's input; there is no answer side to put it on.</summary>
    public override ModelFamilies Families => placement == PromptPlacement.BeforeInput
        ? ModelFamilies.Decoder | ModelFamilies.EncoderDecoder : ModelFamilies.Decoder;

    /// <summary>[P; x] on the encoder, uniform init and the settings' optimizer (Lester et al.'s T5 recipe: Adafactor
    /// 0.3); saved as PEFT's PROMPT_TUNING for SEQ_2_SEQ_LM with one transformer submodule (the encoder
    /// only).</summary>
    protected override T5Setup PrepareForEncoderDecoder(EncoderDecoderContext context)
    {
        var settings = context.Settings;
        var config = context.Model.Config;
        var prompt = new PromptEmbedding(settings.PromptLength, config.HiddenSize);
        prompt.InitializeUniform(settings.Seed);
        var info = new PromptAdapterFiles.Info(context.BaseModel, config.NumLayers, config.NumHeads, "uniform", null,
            context.Task.Name, context.Task, context.Fingerprint) { TaskType = PromptAdapterFiles.SequenceToSequence };
        return new T5Setup(context.Classifier(prompt), [prompt.Prompt], prompt.Prompt.Length, settings.Training,
            $"prompt tuning on the encoder input: [P; x] (Lester et al.), uniform init, " +
            $"{settings.Training.Optimizer} lr {settings.Training.LearningRate:G2}",
            directory => PromptAdapterFiles.Save(directory, prompt, info));
    }

    protected override PreparedMethod<T> PrepareFor<T>(MethodContext<T> context)
    {
        var model = context.Model;
        var prompt = new PromptEmbedding(context.Settings.PromptLength, model.Config.HiddenSize) { Placement =
            placement };
        var init = context.LabelTokens.Count > 0 ? PromptInitKind.Labels : PromptInitKind.Vocab;
        PromptInit.Apply(prompt, init, model.TokenEmbedding, context.Settings.Seed,
            PromptInit.MostFrequentTokens(context.Train.Select(context.InputTokens), 5000), context.LabelTokens);
        float learningRate = PromptScale.LearningRate(model.TokenEmbedding);
        var training = context.Settings.Training with { Optimizer = "adafactor", LearningRate = learningRate };
        string note =
            $"{prompt.Length} vectors {(placement == PromptPlacement.BeforeInput ? "before" : "after")} the input, " +
                      $"{(init == PromptInitKind.Labels ? "class-label" : "sampled-vocabulary")} init, Adafactor lr " +
                          $"{learningRate:G2}";
        return new(context.Objective(prompt, null, ""), new[] { prompt.Prompt }, prompt.Prompt.Length, training, note,
            directory => PromptAdapterFiles.Save(directory, prompt, PromptAdapterFiles.Info.For(model,
                context.BaseModel,
                init == PromptInitKind.Labels ? "labels" : "vocab", null, context.LabeledTask?.Name,
                    context.LabeledTask)));
    }
}
