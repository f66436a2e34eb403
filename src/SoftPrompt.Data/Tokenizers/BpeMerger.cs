namespace SoftPrompt.Data.Tokenizers;

/// <summary>
/// The merge loop both BPE flavours share: repeatedly join the adjacent pair with the best priority (lowest merge
/// rank, or highest piece score) until no adjacent pair may be joined.
/// </summary>
public static class BpeMerger
{
    /// <param name="priority">The pair's priority (lower merges first), or null when the pair may not be
    /// merged.</param>
    public static List<string> Merge(List<string> symbols, Func<string, string, double?> priority)
    {
        while (symbols.Count > 1)
        {
            int best = -1;
            double bestPriority = double.PositiveInfinity;
            for (int i = 0; i + 1 < symbols.Count; i++)
            {
                if (priority(symbols[i], symbols[i + 1]) is double p && p < bestPriority)
                {
                    bestPriority = p;
                    best = i;
                }
            }
            if (best < 0) break;
            symbols[best] += symbols[best + 1];
            symbols.RemoveAt(best + 1);
        }
        return symbols;
    }
}
