namespace SoftPrompt.Tests.Support;

public static class Compare
{
    /// <summary>max |actual − expected| / max |expected|: the error relative to the tensor's scale, so entries near
    /// zero don't turn rounding noise into huge ratios.</summary>
    public static double MaxRelativeError(ReadOnlySpan<float> actual, ReadOnlySpan<float> expected)
    {
        if (actual.Length != expected.Length)
            throw new ArgumentException($"Length {actual.Length} vs expected {expected.Length}.");
        double maxDiff = 0, scale = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            maxDiff = Math.Max(maxDiff, Math.Abs((double)actual[i] - expected[i]));
            scale = Math.Max(scale, Math.Abs((double)expected[i]));
        }
        return maxDiff / Math.Max(scale, 1e-12);
    }
}
