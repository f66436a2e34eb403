namespace SoftPrompt.Training;

/// <summary>The SHA-256 of a file's bytes as lower-case hex: what checkpoints verify their files by and model cards
/// name the mixture by.</summary>
internal static class FileHash
{
    public static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(stream));
    }
}
