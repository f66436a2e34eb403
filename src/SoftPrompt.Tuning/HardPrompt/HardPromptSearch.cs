using SoftPrompt.Engine;
using SoftPrompt.Models;
using SoftPrompt.Tuning.PromptTuning;

namespace SoftPrompt.Tuning.HardPrompt;

/// <summary>
/// Discrete prompt search in the manner of AutoPrompt (Shin et al. 2020): the prompt is k real vocabulary tokens; each
/// step takes the gradient of the training loss at one prompt position, ranks every vocabulary token by the first-order
/// loss change of swapping it in (−∇·e_v), tries the best few on the batch and keeps a swap that lowers the loss.
/// The result is text a person can read and a model without any adapter support can use.
/// </summary>
public sealed class HardPromptSearch<TExample>(IPromptObjective<TExample> objective, CausalLanguageModel model,
    int candidates = 8, int seed = 1)
{
    /// <summary>The prompt's token ids; the objective's soft prompt always holds exactly their embeddings.</summary>
    public int[] Tokens { get; private set; } = Array.Empty<int>();

    public void Initialize(int[] tokens)
    {
        var prompt = Prompt;
        if (tokens.Length != prompt.Length)
            throw new ArgumentException($"{tokens.Length} tokens for a prompt of {prompt.Length}.");
        Tokens = (int[])tokens.Clone();
        for (int i = 0; i < tokens.Length; i++) Place(i, tokens[i]);
    }

    private PromptEmbedding Prompt => objective.Prompt ?? throw new InvalidOperationException(
        "Hard prompt search works through the objective's prompt slots.");

    /// <summary>Runs <paramref name="steps"/> swap attempts on batches drawn from <paramref name="train"/>; returns how
    /// many swaps were kept.</summary>
    public int Run(IReadOnlyList<TExample> train, int steps, int batchSize, CancellationToken cancel = default)
    {
        if (Tokens.Length == 0) throw new InvalidOperationException("Initialize the prompt's tokens first.");
        var rng = new Random(seed);
        var prompt = Prompt;
        int d = prompt.Prompt.Dim(1), vocab = model.Config.VocabSize, kept = 0;
        var table = model.TokenEmbedding;
        // One tape of each kind for the whole search: their pools then serve every step without new arrays.
        var tape = new Tape { ReleaseGradientsEagerly = true }; // only parameter gradients are read
        var quiet = new Tape(recording: false);
        for (int step = 0; step < steps; step++)
        {
            cancel.ThrowIfCancellationRequested();
            var batch = Enumerable.Range(0, batchSize).Select(_ => train[rng.Next(train.Count)]).ToList();
            int position = rng.Next(Tokens.Length);
            prompt.Prompt.ZeroGrad();
            tape.Reset();
            var loss = objective.Loss(tape, batch);
            float current = loss[0];
            tape.Backward(loss);
            var gradient = prompt.Prompt.Grad.Slice(position * d, d).ToArray();
            tape.Reset();
            prompt.Prompt.ZeroGrad();

            // Swapping token v in changes the loss by about ∇·(e_v − e_now): rank by −∇·e_v.
            var gain = new float[vocab];
            var embeddings = table.ReadOnlySpan;
            for (int v = 0; v < vocab; v++) gain[v] = -System.Numerics.Tensors.TensorPrimitives.Dot(gradient,
                embeddings.Slice(v * d, d));
            var shortlist = Enumerable.Range(0, vocab).Where(v => v != Tokens[position]).OrderByDescending(v => gain[v])
                .Take(candidates).ToList();

            int original = Tokens[position], best = original;
            float bestLoss = current;
            foreach (int candidate in shortlist)
            {
                Place(position, candidate);
                quiet.Reset();
                float candidateLoss = objective.Loss(quiet, batch)[0];
                if (candidateLoss < bestLoss) (best, bestLoss) = (candidate, candidateLoss);
            }
            quiet.Reset();
            Place(position, best);
            Tokens[position] = best;
            if (best != original) kept++;
        }
        return kept;
    }

    private void Place(int position, int token)
    {
        int d = Prompt.Prompt.Dim(1);
        model.TokenEmbedding.ReadOnlySpan.Slice(token * d, d).CopyTo(Prompt.Prompt.Span.Slice(position * d, d));
    }
}
