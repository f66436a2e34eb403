using SoftPrompt.Tuning.PromptTuning;

namespace SoftPrompt.Tuning.HardPrompt;

/// <summary>Discrete prompt search as the comparison runs it: k tokens before the input, started from frequent
/// tokens, one swap attempt per training step.</summary>
public sealed class HardPromptMethod : TuningMethod
{
    public override string Name => "hard-search";
    public override string Summary =>
        "discrete prompt search over vocabulary tokens, gradient-ranked (AutoPrompt-style)";

    protected override PreparedMethod<T> PrepareFor<T>(MethodContext<T> context)
    {
        var model = context.Decoder;
        // a readable prompt; each swap costs a forward pass per candidate
        int length = Math.Min(context.Settings.PromptLength, 8);
        var prompt = new PromptEmbedding(length, model.Config.HiddenSize); // its gradient ranks the candidate tokens
        var objective = context.Objective(prompt, null, "");
        var search = new HardPromptSearch<T>(objective, model, seed: context.Settings.Seed);
        var frequent = PromptInit.MostFrequentTokens(context.Train.Select(context.InputTokens), 50);
        search.Initialize(Enumerable.Range(0, length).Select(i => frequent[i % frequent.Length]).ToArray());
        var training = context.Settings.Training;
        string Describe() => $"{length} tokens \"{context.Tokenizer.Decode(search.Tokens).ReplaceLineEndings("\\n")}\"";
        return new(objective, Array.Empty<Engine.Tensor>(), length, null, Summary,
            Save: directory => HardPromptFiles.Save(directory, search.Tokens, context.Tokenizer),
            Search: (train, _) =>
            {
                int kept = search.Run(train, training.Steps, training.BatchSize);
                return (training.Steps, $"{Summary}; {kept} swaps kept; {Describe()}");
            });
    }
}
