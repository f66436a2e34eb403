using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using SoftPrompt.Engine;

namespace SoftPrompt.Tuning.PromptTuning;

/// <summary>One vocabulary token near a prompt vector.</summary>
public sealed record TokenSimilarity(int TokenId, float Cosine);

/// <summary>
/// Interpreting a soft prompt as Lester et al. did: each prompt vector's nearest vocabulary embeddings by cosine
/// similarity.
/// </summary>
public static class NearestTokens
{
    /// <param name="vectors">(p, D) prompt vectors.</param>
    /// <param name="embedding">(V, D) token embedding of the frozen model.</param>
    public static IReadOnlyList<TokenSimilarity>[] Find(Tensor vectors, Tensor embedding, int top)
    {
        int p = vectors.Dim(0), d = vectors.Dim(1), vocab = embedding.Dim(0);
        if (embedding.Dim(1) != d)
            throw new ArgumentException(
                $"Prompt vectors are {d} wide but the model's embeddings are {embedding.Dim(1)} wide.");
        var table = embedding.ReadOnlySpan;
        var norms = new float[vocab];
        for (int v = 0; v < vocab; v++) norms[v] = TensorPrimitives.Norm(table.Slice(v * d, d));
        var result = new IReadOnlyList<TokenSimilarity>[p];
        var cosines = new float[vocab];
        for (int i = 0; i < p; i++)
        {
            var row = vectors.ReadOnlySpan.Slice(i * d, d);
            float norm = TensorPrimitives.Norm(row);
            for (int v = 0; v < vocab; v++)
                cosines[v] = norm == 0 || norms[v] == 0 ? 0 : TensorPrimitives.Dot(row, table.Slice(v * d, d)) / (
                    norm * norms[v]);
            result[i] = Enumerable.Range(0, vocab).OrderByDescending(v => cosines[v]).ThenBy(v => v).Take(top)
                .Select(v => new TokenSimilarity(v, cosines[v])).ToList();
        }
        return result;
    }
}
