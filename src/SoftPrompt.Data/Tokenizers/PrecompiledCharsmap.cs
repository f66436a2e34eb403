using System.Buffers.Binary;
using System.Text;

namespace SoftPrompt.Data.Tokenizers;

/// <summary>
/// SentencePiece's compiled normalization rules, the "Precompiled" normalizer of a tokenizer.json (T5, mT5, ALBERT,
/// XLNet...). The blob is a little-endian uint32 byte size of a trie, the trie itself as darts-clone double-array
/// units (uint32 each), then the replacement strings, each UTF-8 and NUL-terminated. The trie maps UTF-8 byte strings
/// of the input to the offset of their replacement. Normalizing takes, at each position, the longest key that
/// prefixes the rest of the text and writes its replacement; where no key matches, one character is copied as is.
/// </summary>
public sealed class PrecompiledCharsmap
{
    private readonly uint[] _units;
    // Replacement text by its byte offset in the strings section; filled for every offset a leaf of the trie names.
    private readonly Dictionary<int, string> _replacements;

    private PrecompiledCharsmap(uint[] units, Dictionary<int, string> replacements)
    {
        _units = units;
        _replacements = replacements;
    }

    /// <summary>Reads and checks a blob: every leaf the trie can reach must name a NUL-terminated UTF-8 string inside
    /// it.</summary>
    /// <exception cref="InvalidDataException">The blob is malformed; the message starts with
    /// <paramref name="source"/>.</exception>
    public static PrecompiledCharsmap Parse(ReadOnlySpan<byte> blob, string source)
    {
        if (blob.Length < 4)
            throw new InvalidDataException(
                $"{source}: precompiled_charsmap is {blob.Length} bytes, too short for its trie size.");
        uint trieBytes = BinaryPrimitives.ReadUInt32LittleEndian(blob);
        if (trieBytes == 0 || trieBytes % 4 != 0 || trieBytes > blob.Length - 4)
            throw new InvalidDataException(
                $"{source}: precompiled_charsmap gives its trie {trieBytes} bytes, which is not a whole number of " +
                $"4-byte units within the {blob.Length - 4} bytes that follow.");
        var units = new uint[trieBytes / 4];
        for (int i = 0; i < units.Length; i++) units[i] = BinaryPrimitives.ReadUInt32LittleEndian(blob[(4 + 4 * i)..]);
        var strings = blob[(4 + (int)trieBytes)..];
        return new PrecompiledCharsmap(units, ReadReplacements(units, strings, source));
    }

    // Darts-clone's unit layout: bits 0-7 the label (bit 31 too, set only on value units so they never match a
    // label), bit 8 "a value hangs below", bits 10-31 the offset to the children, shifted left by 8 more when bit 9 is
    // set.
    private static bool HasLeaf(uint unit) => (unit >> 8 & 1) == 1;
    private static int Value(uint unit) => (int)(unit & 0x7FFF_FFFF);
    private static uint Label(uint unit) => unit & 0x8000_00FF;
    private static int Offset(uint unit) => (int)(unit >> 10 << (int)((unit & 1 << 9) >> 6));

    // Walks every node reachable from the root (a malformed trie may share or loop nodes, hence the set) and decodes
    // the replacement each leaf points at.
    private static Dictionary<int, string> ReadReplacements(uint[] units, ReadOnlySpan<byte> strings, string source)
    {
        var replacements = new Dictionary<int, string>();
        var strict = new UTF8Encoding(false, throwOnInvalidBytes: true);
        var seen = new HashSet<int>();
        var pending = new Stack<int>();
        pending.Push(Offset(units[0]));
        while (pending.Count > 0)
        {
            int node = pending.Pop();
            if (!seen.Add(node)) continue;
            for (int label = 1; label < 256; label++)
            {
                int child = node ^ label;
                if ((uint)child >= (uint)units.Length || Label(units[child]) != label) continue;
                int next = child ^ Offset(units[child]);
                if (HasLeaf(units[child]))
                {
                    if ((uint)next >= (uint)units.Length)
                        throw new InvalidDataException(
                            $"{source}: precompiled_charsmap trie has a leaf at unit {next}, past its {units.Length} " +
                            $"units.");
                    int at = Value(units[next]);
                    if (!replacements.ContainsKey(at)) replacements[at] = ReadString(strings, at, strict, source);
                }
                pending.Push(next);
            }
        }
        return replacements;
    }

    private static string ReadString(ReadOnlySpan<byte> strings, int at, UTF8Encoding strict, string source)
    {
        if (at >= strings.Length)
            throw new InvalidDataException(
                $"{source}: precompiled_charsmap names replacement offset {at}, past its {strings.Length} bytes of " +
                $"strings.");
        int length = strings[at..].IndexOf((byte)0);
        if (length < 0)
            throw new InvalidDataException(
                $"{source}: precompiled_charsmap replacement at offset {at} has no terminating NUL.");
        try
        {
            return strict.GetString(strings.Slice(at, length));
        }
        catch (DecoderFallbackException)
        {
            throw new InvalidDataException(
                $"{source}: precompiled_charsmap replacement at offset {at} is not valid UTF-8.");
        }
    }

    /// <summary>The longest key that prefixes <paramref name="text"/>: its length in bytes and its replacement; null
    /// when none does.</summary>
    public (int Length, string Replacement)? LongestMatch(ReadOnlySpan<byte> text)
    {
        (int, string)? best = null;
        int node = Offset(_units[0]);
        for (int i = 0; i < text.Length && text[i] != 0; i++)
        {
            node ^= text[i];
            if ((uint)node >= (uint)_units.Length) break;
            uint unit = _units[node];
            if (Label(unit) != text[i]) break;
            node ^= Offset(unit);
            if (HasLeaf(unit)) best = (i + 1, _replacements[Value(_units[node])]);
        }
        return best;
    }

    public string Normalize(string text)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        var result = new StringBuilder(text.Length);
        for (int i = 0; i < bytes.Length;)
        {
            if (LongestMatch(bytes.AsSpan(i)) is var (length, replacement))
            {
                result.Append(replacement);
                i += length;
                continue;
            }
            // Bytes from a .NET string are valid UTF-8 (lone surrogates arrive as U+FFFD's three bytes).
            int charLength = bytes[i] < 0x80 ? 1 : bytes[i] < 0xE0 ? 2 : bytes[i] < 0xF0 ? 3 : 4;
            result.Append(Encoding.UTF8.GetString(bytes, i, charLength));
            i += charLength;
        }
        return result.ToString();
    }
}
