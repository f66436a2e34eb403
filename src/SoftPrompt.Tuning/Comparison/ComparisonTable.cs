using System.Globalization;
using System.Net;
using System.Text;

namespace SoftPrompt.Tuning.Comparison;

/// <param name="StoredBytes">What one task keeps on disk beyond the shared base (float32 values).</param>
/// <param name="TokensPerSecond">Training throughput: examples per second × mean input tokens per example.</param>
public sealed record ComparisonRow(string Method, long Trainable, long StoredBytes, double[] Metrics, double Seconds,
    int Steps,
    double TokensPerSecond, string Note);

/// <summary>The comparison as a Markdown table, a CSV file and an SVG bar chart of the first metric.</summary>
public sealed record ComparisonTable(string Header, string[] MetricNames, long BaseParameters,
    IReadOnlyList<ComparisonRow> Rows)
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    private double PercentOfBase(ComparisonRow row) => 100.0 * row.Trainable / BaseParameters;

    /// <summary>The table as Markdown at <paramref name="path"/>, with its .csv and .svg beside it.</summary>
    public void WriteReport(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        File.WriteAllText(path, Markdown());
        File.WriteAllText(Path.ChangeExtension(path, ".csv"), Csv());
        File.WriteAllText(Path.ChangeExtension(path, ".svg"), Svg());
    }

    public string Markdown()
    {
        var text = new StringBuilder();
        text.AppendLine(Header).AppendLine();
        text.AppendLine(MarkdownRow(["method", "trainable params", "% of base", "stored per task", .. MetricNames,
            "time (s)",
            "steps", "train tokens/s", "notes"]));
        text.AppendLine(MarkdownRow(["---", "---:", "---:", "---:", .. MetricNames.Select(_ => "---:"), "---:", "---:",
            "---:",
            "---"]));
        foreach (var r in Rows)
            text.AppendLine(MarkdownRow([r.Method, r.Trainable.ToString("N0", Invariant),
                PercentOfBase(r).ToString("F3", Invariant) + "%", Bytes(r.StoredBytes),
                .. r.Metrics.Select(m => double.IsNaN(m) ? "–" : m.ToString("F4", Invariant)),
                    r.Seconds.ToString("F0", Invariant),
                r.Steps.ToString(Invariant), r.Steps > 0 ? r.TokensPerSecond.ToString("N0", Invariant) : "–", r.Note]));
        return text.ToString();
    }

    public string Csv()
    {
        var text = new StringBuilder();
        text.AppendLine(string.Join(",", ["method", "trainable_params", "percent_of_base", "stored_bytes",
            .. MetricNames.Select(Slug), "seconds", "steps", "train_tokens_per_second", "note"]));
        foreach (var r in Rows)
            text.AppendLine(string.Join(",", [r.Method, r.Trainable.ToString(Invariant),
                PercentOfBase(r).ToString("F4", Invariant), r.StoredBytes.ToString(Invariant),
                .. r.Metrics.Select(m => m.ToString("F4", Invariant)), r.Seconds.ToString("F1", Invariant),
                r.Steps.ToString(Invariant), r.TokensPerSecond.ToString("F0", Invariant),
                "\"" + r.Note.Replace("\"", "\"\"") + "\""]));
        return text.ToString();
    }

    /// <summary>Horizontal bars of the first metric, each labelled with the method and its % of trainable
    /// parameters.</summary>
    public string Svg()
    {
        const int barHeight = 22, gap = 8, left = 150, width = 420, top = 40;
        double max = Math.Max(1e-9, Rows.Max(r => r.Metrics[0]));
        int height = top + Rows.Count * (barHeight + gap) + 20;
        var svg = new StringBuilder();
        svg.AppendLine(
            string.Create(Invariant, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{left + width + 190}\" ")
            + string.Create(Invariant, $"height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">"));
        svg.AppendLine($"<text x=\"10\" y=\"20\" font-size=\"14\">{WebUtility.HtmlEncode(MetricNames[0])} by method " +
            "(label: % of base parameters trained)</text>");
        for (int i = 0; i < Rows.Count; i++)
        {
            var r = Rows[i];
            int y = top + i * (barHeight + gap);
            double w = width * r.Metrics[0] / max;
            svg.AppendLine(string.Create(Invariant,
                $"<text x=\"{left - 8}\" y=\"{y + 15}\" text-anchor=\"end\">{WebUtility.HtmlEncode(r.Method)}</text>"));
            svg.AppendLine(string.Create(Invariant,
                $"<rect x=\"{left}\" y=\"{y}\" width=\"{w:F1}\" height=\"{barHeight}\" fill=\"#4878a8\"/>"));
            svg.AppendLine(string.Create(Invariant,
                $"<text x=\"{left + w + 6:F1}\" y=\"{y + 15}\">{r.Metrics[0]:F3} ({PercentOfBase(r):G3}%)</text>"));
        }
        svg.AppendLine("</svg>");
        return svg.ToString();
    }

    private static string Bytes(long bytes) => bytes < 1024 ? $"{bytes} B"
        : bytes < 1 << 20 ? $"{bytes / 1024.0:F1} KiB" : $"{bytes / (1024.0 * 1024):F1} MiB";

    private static string MarkdownRow(IEnumerable<string> cells) => $"| {string.Join(" | ", cells)} |";
    private static string Slug(string name) => name.ToLowerInvariant().Replace('-', '_').Replace(' ', '_');
}
