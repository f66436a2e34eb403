namespace SoftPrompt.Training.Pretraining;

/// <summary>What a pretraining step teaches: the next token (GPT-2, LLaMA) or hidden tokens (BERT's masked
/// LM).</summary>
public enum PretrainObjective { NextToken, MaskedTokens }

/// <summary>
/// BERT's masking (Devlin et al. 2019): each position is chosen with probability <see cref="Rate"/>; a chosen token
/// becomes the target and in the input is replaced by [MASK] 80% of the time, by a random token 10%, and left as it is
/// 10% (so the model cannot assume that an unmasked token is never asked about). Separators and other special tokens
/// are never chosen.
/// </summary>
/// <param name="NeverMasked">Ids that are structure, not text ([SEP], [CLS], [PAD]).</param>
public sealed record TokenMasking(int MaskId, int VocabSize, IReadOnlySet<int> NeverMasked, float Rate = 0.15f)
{
    public const int Ignored = -100;

    /// <summary>Turns windows of text (B·T) into masked inputs, in place, and their targets (−100 where not
    /// chosen).</summary>
    public void Apply(Random rng, int[] inputs, int[] targets)
    {
        if (targets.Length != inputs.Length)
            throw new ArgumentException($"{inputs.Length} inputs but {targets.Length} targets.");
        bool any = false;
        for (int i = 0; i < inputs.Length; i++)
        {
            targets[i] = Ignored;
            if (NeverMasked.Contains(inputs[i]) || rng.NextDouble() >= Rate) continue;
            Choose(rng, inputs, targets, i);
            any = true;
        }
        // The loss needs at least one target; a tiny batch can draw none.
        if (!any)
        {
            var candidates = Enumerable.Range(0, inputs.Length).Where(i => !NeverMasked.Contains(inputs[i])).ToArray();
            if (candidates.Length == 0)
                throw new InvalidOperationException("A masked-LM batch holds only special tokens.");
            Choose(rng, inputs, targets, candidates[rng.Next(candidates.Length)]);
        }
    }

    private void Choose(Random rng, int[] inputs, int[] targets, int i)
    {
        targets[i] = inputs[i];
        double roll = rng.NextDouble();
        if (roll < 0.8) inputs[i] = MaskId;
        else if (roll < 0.9) inputs[i] = rng.Next(VocabSize);
    }
}
