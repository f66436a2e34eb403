using System.Text;

namespace SoftPrompt.Data.Tokenizers;

/// <summary>
/// GPT-2's reversible byte → printable character map: bytes that are printable Latin-1 map to themselves, the other
/// 68 to code points from U+0100 on, so every byte string is a string of visible characters BPE can work on.
/// </summary>
public static class ByteLevelEncoding
{
    private static readonly char[] ByteToChar = BuildByteToChar();
    private static readonly Dictionary<char, byte> CharToByte = Enumerable.Range(0, 256).ToDictionary(b =>
        ByteToChar[b], b => (byte)b);

    private static char[] BuildByteToChar()
    {
        var map = new char[256];
        int next = 256;
        for (int b = 0; b < 256; b++)
        {
            bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            map[b] = printable ? (char)b : (char)next++;
        }
        return map;
    }

    public static char CharOf(byte b) => ByteToChar[b];

    /// <summary>UTF-8 bytes of the text as mapped characters.</summary>
    public static string BytesToTokenString(ReadOnlySpan<byte> bytes)
    {
        var chars = new char[bytes.Length];
        for (int i = 0; i < bytes.Length; i++) chars[i] = ByteToChar[bytes[i]];
        return new string(chars);
    }

    public static string TextToTokenString(string text) => BytesToTokenString(Encoding.UTF8.GetBytes(text));

    /// <summary>The bytes a token string stands for; characters outside the map are kept as their UTF-8.</summary>
    public static void TokenStringToBytes(string token, List<byte> into)
    {
        foreach (char c in token)
        {
            if (CharToByte.TryGetValue(c, out byte b)) into.Add(b);
            else into.AddRange(Encoding.UTF8.GetBytes(c.ToString()));
        }
    }
}
