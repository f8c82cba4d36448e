namespace Hindsight.Setup;

/// <summary>How far <c>setup --snapshot</c> has copied: reported every few thousand rows and at the end of each table.</summary>
/// <param name="Table">The table being copied (<c>schema.table</c>).</param>
/// <param name="TableIndex">Its place among the tables (1-based).</param>
/// <param name="Tables">How many tables the baseline copies.</param>
/// <param name="Rows">Rows copied so far, all tables.</param>
/// <param name="EstimatedRows">PostgreSQL's estimate of all the tables' rows (<c>pg_class.reltuples</c>), or null when a table was never analysed.</param>
/// <param name="Elapsed">Time since the copy began.</param>
/// <param name="TableCopied">This report is the table's last: all its rows are copied.</param>
public sealed record BaselineProgress(string Table, int TableIndex, int Tables, long Rows, long? EstimatedRows, TimeSpan Elapsed, bool TableCopied)
{
    /// <summary>Rows copied per second so far.</summary>
    public double RowsPerSecond => Elapsed.TotalSeconds > 0 ? Rows / Elapsed.TotalSeconds : 0;

    /// <summary>Time left at the rate so far, when the total is estimated and the rate known.</summary>
    public TimeSpan? Remaining => EstimatedRows is { } total && RowsPerSecond > 0
        ? TimeSpan.FromSeconds(Math.Max(0, total - Rows) / RowsPerSecond)
        : null;
}
