using System.Text;

namespace Hindsight.Cli;

/// <summary>Aligned plain-text tables for terminals.</summary>
internal static class TextTable
{
    /// <summary>Columns padded to their widest cell, with a rule under the header.</summary>
    public static string Aligned(string[] header, IReadOnlyList<string[]> rows)
    {
        var widths = header.Select((h, i) => Math.Max(h.Length, rows.Count == 0 ? 0 : rows.Max(r => r[i].Length))).ToArray();
        var sb = new StringBuilder();
        void Line(IReadOnlyList<string> cells) =>
            sb.Append(string.Join("  ", cells.Select((c, i) => i == cells.Count - 1 ? c : c.PadRight(widths[i]))).TrimEnd()).Append('\n');
        Line(header);
        Line(widths.Select(w => new string('-', w)).ToArray());
        foreach (var r in rows) Line(r);
        return sb.ToString();
    }

    /// <summary>One line of at most <paramref name="max"/> characters: line breaks shown as spaces, an ellipsis where cut.</summary>
    public static string Cell(string? text, int max)
    {
        if (string.IsNullOrEmpty(text)) return "";
        var flat = text.ReplaceLineEndings(" ").Replace('\t', ' ');
        return flat.Length <= max ? flat : flat[..(max - 1)] + "…";
    }
}
