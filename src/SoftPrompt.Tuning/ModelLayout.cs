using SoftPrompt.Models;

namespace SoftPrompt.Tuning;

/// <summary>
/// Finding a model's parts by the roles its model file declares (<see cref="NamedParameter.Role"/>,
/// <see cref="NamedParameter.Layer"/>), and naming them as PEFT's files do. Nothing here knows an architecture: a new
/// model family declares its parts and every method finds them.
/// </summary>
public static class ModelLayout
{
    /// <summary>The blocks' weight matrices: what LoRA, (IA)³ and the like attach to.</summary>
    public static IEnumerable<NamedParameter> BlockMatrices(TransformerModel model) =>
        model.Parameters.Where(p => p.Layer is not null && p.Tensor.Rank == 2 && !p.Is(ParameterRole.Bias));

    /// <summary>The blocks' weight matrices with any of <paramref name="roles"/>, as module names (without
    /// ".weight").</summary>
    public static List<string> Modules(TransformerModel model, ParameterRole roles) =>
        BlockMatrices(model).Where(p => p.Is(roles)).Select(p => ModuleOf(p.Name)).ToList();

    /// <summary>A weight only a language-model head uses (a BERT's MLM transform and decoder, an untied output
    /// projection): a task head that reads the hidden states never uses it.</summary>
    public static bool IsLanguageModelHead(NamedParameter p) =>
        p.Is(ParameterRole.HeadTransform | ParameterRole.LanguageModelHead);

    /// <summary>The attention module of a layer, as PEFT names it: the module that holds the layer's query projection
    /// ("model.layers.3.self_attn", "transformer.h.3.attn", "bert.encoder.layer.3.attention.self").</summary>
    public static string AttentionModule(TransformerModel model, int layer)
    {
        var query = BlockMatrices(model).FirstOrDefault(p => p.Layer == layer && p.Is(ParameterRole.Query))
                    ?? throw new NotSupportedException($"Layer {layer} of the model declares no query projection.");
        string module = ModuleOf(query.Name);
        return module[..module.LastIndexOf('.')];
    }

    /// <summary>
    /// PEFT's target_modules for exactly these modules: for each, the shortest dotted suffix that matches it and no
    /// module outside the set under PEFT's rule (a name matches a module equal to it or ending in "." + it), so
    /// "q_proj" for every query, but "mlp.c_proj" for GPT-2's MLP output (plain "c_proj" would catch the attention's
    /// too).
    /// </summary>
    public static List<string> TargetNames(TransformerModel model, IReadOnlyCollection<string> modules)
    {
        var chosen = modules.ToHashSet();
        var all = model.Parameters.Select(p => ModuleOf(p.Name)).Distinct().ToList();
        var names = new List<string>();
        foreach (var module in modules)
        {
            var parts = module.Split('.');
            for (int take = 1; take <= parts.Length; take++)
            {
                string suffix = string.Join('.', parts[^take..]);
                if (all.Where(m => m == suffix || m.EndsWith("." + suffix)).All(chosen.Contains))
                {
                    if (!names.Contains(suffix)) names.Add(suffix);
                    break;
                }
            }
        }
        return names;
    }

    private static string ModuleOf(string parameterName) => parameterName[..parameterName.LastIndexOf('.')];
}
