using System.Globalization;
using System.Text;

namespace SoftPrompt.Data.Tokenizers;

/// <summary>
/// Unicode normalization forms NFC, NFD, NFKC and NFKD (UAX #15) from our own tables (UnicodeNormalizationData), since
/// the build's invariant globalization leaves .NET's string.Normalize without data: full decomposition (Hangul by
/// arithmetic), canonical ordering of combining marks, then for the composed forms canonical composition.
/// </summary>
public static class UnicodeNormalization
{
    private sealed class Tables
    {
        public readonly Dictionary<int, int[]> Canonical = new(), Compatibility = new();
        public readonly Dictionary<int, byte> Classes = new();
        public readonly Dictionary<(int, int), int> Compositions = new();
    }

    private static readonly Lazy<Tables> Data = new(Load);

    // Hangul syllables: S = SBase + (L × VCount + V) × TCount + T.
    private const int SBase = 0xAC00, LBase = 0x1100, VBase = 0x1161, TBase = 0x11A7, LCount = 19, VCount = 21,
        TCount = 28;
    private const int NCount = VCount * TCount, SCount = LCount * NCount;

    public static string Normalize(string text, NormalizationForm form)
    {
        if (IsAscii(text)) return text;
        bool compatibility = form is NormalizationForm.FormKC or NormalizationForm.FormKD;
        bool compose = form is NormalizationForm.FormC or NormalizationForm.FormKC;
        var tables = Data.Value;
        var code = new List<int>(text.Length);
        foreach (var rune in text.EnumerateRunes()) Decompose(rune.Value, compatibility, tables, code);
        SortMarks(code, tables);
        if (compose) Compose(code, tables);
        var result = new StringBuilder(code.Count);
        foreach (int c in code) result.Append(char.ConvertFromUtf32(c));
        return result.ToString();
    }

    private static bool IsAscii(string text)
    {
        foreach (char c in text)
            if (c >= 0x80) return false;
        return true;
    }

    private static void Decompose(int c, bool compatibility, Tables tables, List<int> output)
    {
        if (c - SBase is >= 0 and < SCount)
        {
            int s = c - SBase;
            output.Add(LBase + s / NCount);
            output.Add(VBase + s % NCount / TCount);
            if (s % TCount != 0) output.Add(TBase + s % TCount);
            return;
        }
        if (tables.Canonical.TryGetValue(c, out var parts) || compatibility && tables.Compatibility.TryGetValue(c,
            out parts))
        {
            foreach (int p in parts) Decompose(p, compatibility, tables, output);
            return;
        }
        output.Add(c);
    }

    private static int ClassOf(int c, Tables tables) => tables.Classes.TryGetValue(c, out byte k) ? k : 0;

    // Canonical ordering: within each run of non-starters, a stable sort by combining class.
    private static void SortMarks(List<int> code, Tables tables)
    {
        for (int i = 1; i < code.Count; i++)
        {
            int k = ClassOf(code[i], tables);
            if (k == 0) continue;
            for (int j = i; j > 0 && ClassOf(code[j - 1], tables) > k; j--) (code[j - 1], code[j]) = (code[j],
                code[j - 1]);
        }
    }

    // Each character joins the last starter when nothing between them blocks it (a starter, or a mark of the same or
    // a higher class) and the pair has a primary composite.
    private static void Compose(List<int> code, Tables tables)
    {
        if (code.Count == 0) return;
        int write = 1, starter = ClassOf(code[0], tables) == 0 ? 0 : -1, lastClass = ClassOf(code[0], tables);
        for (int i = 1; i < code.Count; i++)
        {
            int c = code[i], k = ClassOf(c, tables);
            if (starter >= 0 && (lastClass == 0 && write - 1 == starter || lastClass < k) && Composite(code[starter], c,
                tables) is int composite)
            {
                code[starter] = composite;
                continue;
            }
            if (k == 0) starter = write;
            lastClass = k;
            code[write++] = c;
        }
        code.RemoveRange(write, code.Count - write);
    }

    private static int? Composite(int first, int second, Tables tables)
    {
        if (first - LBase is >= 0 and < LCount && second - VBase is >= 0 and < VCount)
            return SBase + ((first - LBase) * VCount + second - VBase) * TCount;
        if (first - SBase is >= 0 and < SCount && (first - SBase) % TCount == 0 && second - TBase is > 0 and < TCount)
            return first + second - TBase;
        return tables.Compositions.TryGetValue((first, second), out int c) ? c : null;
    }

    private static Tables Load()
    {
        var tables = new Tables();
        static int Hex(string s) => int.Parse(s, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        foreach (var entry in UnicodeNormalizationData.Decompositions.Split(';'))
        {
            int mark = entry.IndexOfAny(['=', '~']);
            int code = Hex(entry[..mark]);
            int[] parts = entry[(mark + 1)..].Split(' ').Select(Hex).ToArray();
            (entry[mark] == '=' ? tables.Canonical : tables.Compatibility)[code] = parts;
        }
        foreach (var entry in UnicodeNormalizationData.CombiningClasses.Split(';'))
        {
            int colon = entry.IndexOf(':'), dash = entry.IndexOf('-');
            int first = Hex(entry[..(dash > 0 ? dash : colon)]), last = dash > 0 ? Hex(entry[(dash + 1)..colon])
                : first;
            byte k = byte.Parse(entry[(colon + 1)..], CultureInfo.InvariantCulture);
            for (int c = first; c <= last; c++) tables.Classes[c] = k;
        }
        var excluded = UnicodeNormalizationData.CompositionExclusions.Split(';').Select(Hex).ToHashSet();
        foreach (var (code, parts) in tables.Canonical)
            if (parts.Length == 2 && !excluded.Contains(code)) tables.Compositions[(parts[0], parts[1])] = code;
        return tables;
    }
}
