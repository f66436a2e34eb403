using System.Text;
using System.Text.Json;
using SoftPrompt.Data.Tokenizers;
using Xunit;

namespace SoftPrompt.Tests.Tokenizers;

/// <summary>Our NFC/NFD/NFKC/NFKD against Python's unicodedata
/// (tests/fixtures/tokenizers/unicode/make_normalization_data.py).</summary>
public class UnicodeNormalizationTests
{
    [Fact]
    public void The_four_forms_match_Pythons_unicodedata()
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "fixtures",
            "tokenizers", "unicode", "expected.json")));
        var cases = doc.RootElement.GetProperty("cases").EnumerateArray().ToList();
        Assert.True(cases.Count >= 500);
        var forms = new (string Name, NormalizationForm Form)[]
        {
            ("NFC", NormalizationForm.FormC), ("NFD", NormalizationForm.FormD), ("NFKC", NormalizationForm.FormKC),
            ("NFKD", NormalizationForm.FormKD),
        };
        foreach (var c in cases)
        {
            string text = c.GetProperty("text").GetString()!;
            foreach (var (name, form) in forms)
            {
                string expected = c.GetProperty(name).GetString()!, actual = UnicodeNormalization.Normalize(text, form);
                Assert.True(expected == actual, $"{name} of {Hex(text)}: expected {Hex(expected)}, got {Hex(actual)}");
            }
        }
    }

    [Fact]
    public void Known_cases()
    {
        Assert.Equal("caf\u00E9", UnicodeNormalization.Normalize("cafe\u0301", NormalizationForm.FormC));
        Assert.Equal("cafe\u0301", UnicodeNormalization.Normalize("caf\u00E9", NormalizationForm.FormD));
        Assert.Equal("\u00C5", UnicodeNormalization.Normalize("\u212B", NormalizationForm.FormC)); // Angstrom sign
        Assert.Equal("A fi 1", UnicodeNormalization.Normalize("\uFF21 \uFB01 \u2460", NormalizationForm.FormKC));
        // 한 from jamo
        Assert.Equal("\uD55C", UnicodeNormalization.Normalize("\u1112\u1161\u11AB", NormalizationForm.FormC));
        Assert.Equal("\u1112\u1161\u11AB", UnicodeNormalization.Normalize("\uD55C", NormalizationForm.FormD));
        Assert.Equal("plain ASCII", UnicodeNormalization.Normalize("plain ASCII", NormalizationForm.FormKD));
    }

    private static string Hex(string s) => string.Join(" ", s.EnumerateRunes().Select(r => r.Value.ToString("X4")));
}
