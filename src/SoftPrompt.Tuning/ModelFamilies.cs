using SoftPrompt.Models;

namespace SoftPrompt.Tuning;

/// <summary>The kinds of frozen model a tuning method can adapt: causal decoders (GPT-2, LLaMA), which read a label
/// as the next tokens, and bidirectional encoders (BERT), which read it at a [MASK] or through a head.</summary>
[Flags]
public enum ModelFamilies
{
    Decoder = 1,
    Encoder = 2,
    Both = Decoder | Encoder,
}

public static class ModelFamily
{
    public static ModelFamilies Of(TransformerModel model) => model.IsCausal ? ModelFamilies.Decoder
        : ModelFamilies.Encoder;

    /// <summary>"a causal language model (GPT-2, LLaMA)" or "a BERT encoder", as error messages say it.</summary>
    public static string Describe(ModelFamilies family) => family switch
    {
        ModelFamilies.Decoder => "a causal language model (GPT-2, LLaMA)",
        ModelFamilies.Encoder => "a BERT encoder",
        _ => "a decoder or an encoder",
    };
}
