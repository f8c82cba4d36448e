using System.Globalization;
using System.Text;
using Spectre.Console;

namespace Hindsight.Cli;

/// <summary>
/// Aligned plain-text tables for terminals. Widths are display widths (terminal cells), not string lengths: a CJK
/// character or an emoji takes two cells, a combining mark none, so such names keep the columns aligned.
/// </summary>
internal static class TextTable
{
    /// <summary>Columns padded to their widest cell, with a rule under the header.</summary>
    public static string Aligned(string[] header, IReadOnlyList<string[]> rows)
    {
        var widths = header.Select((h, i) => Math.Max(h.GetCellWidth(), rows.Count == 0 ? 0 : rows.Max(r => r[i].GetCellWidth()))).ToArray();
        var sb = new StringBuilder();
        void Line(IReadOnlyList<string> cells) =>
            sb.Append(string.Join("  ", cells.Select((c, i) => i == cells.Count - 1 ? c : c + new string(' ', Math.Max(0, widths[i] - c.GetCellWidth())))).TrimEnd()).Append('\n');
        Line(header);
        Line(widths.Select(w => new string('-', w)).ToArray());
        foreach (var r in rows) Line(r);
        return sb.ToString();
    }

    /// <summary>One line of at most <paramref name="max"/> cells: line breaks shown as spaces, an ellipsis where cut (never inside a character).</summary>
    public static string Cell(string? text, int max)
    {
        if (string.IsNullOrEmpty(text)) return "";
        var flat = text.ReplaceLineEndings(" ").Replace('\t', ' ');
        if (flat.GetCellWidth() <= max) return flat;
        var sb = new StringBuilder();
        var width = 0;
        var elements = StringInfo.GetTextElementEnumerator(flat);
        while (elements.MoveNext())
        {
            var element = elements.GetTextElement();
            var w = element.GetCellWidth();
            if (width + w > max - 1) break;
            sb.Append(element);
            width += w;
        }
        return sb.Append('…').ToString();
    }
}
