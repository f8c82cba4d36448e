namespace Hindsight.Bench;

/// <summary>
/// Every figure of record against its target, met or not: each figure adds its rows as it reports, and the bench prints
/// the table last (<c>bench all</c> ends with it).
/// </summary>
internal static class Scorecard
{
    private static readonly List<(string Figure, string Measured, string Target, bool? Met)> Rows = [];

    /// <summary>Records one figure. <paramref name="met"/> null: no verdict (a figure shown beside a target, or not measured).</summary>
    public static void Add(string figure, string measured, string target, bool? met)
    {
        lock (Rows) Rows.Add((figure, measured, target, met));
    }

    /// <summary>Each run's value, comma-separated, for the "measured" cell (invariant culture).</summary>
    public static string Runs(IEnumerable<double> values, string format) =>
        string.Join(", ", values.Select(v => v.ToString(format, System.Globalization.CultureInfo.InvariantCulture)));

    /// <summary>True once a figure has added a row.</summary>
    public static bool HasRows
    {
        get { lock (Rows) return Rows.Count > 0; }
    }

    /// <summary>The table, with a count of the targets met.</summary>
    public static string Render()
    {
        lock (Rows)
        {
            var t = new TextTable("figure of record", "measured", "target", "met?");
            foreach (var r in Rows) t.Add(r.Figure, r.Measured, r.Target, r.Met switch { true => "met", false => "NOT met", null => "-" });
            var judged = Rows.Count(r => r.Met is not null);
            return $"\nscorecard: {Rows.Count(r => r.Met == true)} of {judged} targets met " +
                   "(medians over runs unless a row says otherwise; the tables above hold every run)\n" + t;
        }
    }
}
