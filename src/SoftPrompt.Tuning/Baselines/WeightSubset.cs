using SoftPrompt.Engine;
using SoftPrompt.Models;

namespace SoftPrompt.Tuning.Baselines;

/// <summary>A named part of the model's own weights that a fine-tuning baseline trains.</summary>
public sealed record WeightSubset(string Method, IReadOnlyList<NamedParameter> Parameters, string? Note = null)
{
    public long Count => Parameters.Sum(p => (long)p.Tensor.Length);
    public IReadOnlyList<Tensor> Tensors => Parameters.Select(p => p.Tensor).ToList();

    /// <summary>
    /// full: every weight; top-k: the last k blocks and what sits above them (the final norm, a BERT's MLM transform
    /// and output bias; embeddings stay frozen, so a tied head does too); bitfit: the biases (Ben Zaken et al.) —
    /// LLaMA-style models have none, so their norm gains stand in, and <see cref="Note"/> says so. Without
    /// <paramref name="readsLanguageModelHead"/> (a task head reads the hidden states instead) the weights only the LM
    /// head uses are left out: they would get no gradient. Marks exactly these trainable and freezes the rest.
    /// </summary>
    public static WeightSubset Select(TransformerModel model, string method, int topLayers = 2,
        bool readsLanguageModelHead = true)
    {
        var all = model.Parameters.Where(p => readsLanguageModelHead || !ModelLayout.IsLanguageModelHead(p)).ToList();
        int layers = model.Config.NumLayers;
        WeightSubset subset = method switch
        {
            "full" => new WeightSubset("full fine-tuning", all),
            "top-k" => new WeightSubset($"fine-tune top {topLayers} layers",
                all.Where(p => p.Layer is int l ? l >= layers - topLayers
                    : p.Is(ParameterRole.FinalNorm | ParameterRole.HeadTransform)).ToList()),
            "bitfit" => all.Any(p => p.Is(ParameterRole.Bias))
                ? new WeightSubset("BitFit (biases)", all.Where(p => p.Is(ParameterRole.Bias)).ToList())
                : new WeightSubset("BitFit (norm gains)",
                    all.Where(p => p.Is(ParameterRole.Norm | ParameterRole.FinalNorm)).ToList(),
                    "the model has no biases (LLaMA-style), so BitFit trains the RMSNorm gains instead"),
            _ => throw new ArgumentException($"Unknown fine-tuning baseline '{method}': use full, top-k or bitfit."),
        };
        if (topLayers < 1 || topLayers > layers) throw new OptionException("TopLayers",
            $"must be between 1 and the model's {layers} layers (got {topLayers}).");
        var chosen = subset.Parameters.Select(p => p.Name).ToHashSet();
        model.SetTrainable(chosen.Contains);
        return subset;
    }
}
