using System.Globalization;
using System.Text;

namespace Hindsight.Bench;

/// <summary>A small aligned text table.</summary>
internal sealed class TextTable(params string[] header)
{
    private readonly List<string[]> _rows = [];

    public void Add(params object?[] cells) =>
        _rows.Add(cells.Select(c => c switch
        {
            null => "",
            double d when double.IsNaN(d) => "n/a",
            double d => d.ToString(Math.Abs(d) >= 100 ? "N0" : Math.Abs(d) >= 10 ? "0.0" : "0.00", CultureInfo.InvariantCulture),
            long l => l.ToString("N0", CultureInfo.InvariantCulture),
            int i => i.ToString("N0", CultureInfo.InvariantCulture),
            _ => Convert.ToString(c, CultureInfo.InvariantCulture) ?? "",
        }).ToArray());

    public void Separator() => _rows.Add([]);

    public override string ToString()
    {
        var widths = header.Select(h => h.Length).ToArray();
        foreach (var r in _rows)
            for (var i = 0; i < r.Length && i < widths.Length; i++) widths[i] = Math.Max(widths[i], r[i].Length);
        var sb = new StringBuilder();
        void Line(string[] cells)
        {
            for (var i = 0; i < widths.Length; i++)
            {
                var c = i < cells.Length ? cells[i] : "";
                // Left-align the first column, right-align the numbers.
                sb.Append(i == 0 ? c.PadRight(widths[i]) : c.PadLeft(widths[i]));
                if (i < widths.Length - 1) sb.Append("  ");
            }
            sb.Append('\n');
        }
        Line(header);
        sb.Append(string.Join("  ", widths.Select(w => new string('-', w)))).Append('\n');
        foreach (var r in _rows)
        {
            if (r.Length == 0) sb.Append(string.Join("  ", widths.Select(w => new string('-', w)))).Append('\n');
            else Line(r);
        }
        return sb.ToString();
    }
}

internal static class Stats
{
    public static double Median(IEnumerable<double> values)
    {
        var v = values.Where(x => !double.IsNaN(x)).OrderBy(x => x).ToArray();
        if (v.Length == 0) return double.NaN;
        return v.Length % 2 == 1 ? v[v.Length / 2] : (v[v.Length / 2 - 1] + v[v.Length / 2]) / 2;
    }

    /// <summary>The <paramref name="p"/>-th percentile (0..100) of sorted values, nearest rank (an observed value, never interpolated).</summary>
    public static double Percentile(double[] sorted, double p)
    {
        if (sorted.Length == 0) return double.NaN;
        var rank = (int)Math.Ceiling(p / 100 * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }
}
