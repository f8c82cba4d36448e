using Hindsight.Tests.Infrastructure;
using Npgsql;

namespace Hindsight.Tests.Temporal;

/// <summary>
/// Runs the very SQL EF Core ran (text and parameters, from a <see cref="CommandLog"/>) again in PostgreSQL, into a
/// table, and compares its rows with what PostgreSQL computes from the oracle's copies, as <c>to_jsonb</c>, both ways.
/// </summary>
internal static class TemporalOracle
{
    /// <summary>The rows the query and the expected set differ by (empty when equal row for row), and the query's row count.</summary>
    public static async Task<(string Difference, long Rows)> CompareAsync(CaptureHarness h, CommandLog log, string expectedSql)
    {
        await using var conn = await h.Source.OpenConnectionAsync();
        await using var tx = await conn.BeginTransactionAsync();
        await using (var cmd = new NpgsqlCommand($"CREATE TEMP TABLE hs_result ON COMMIT DROP AS {log.Text}", conn, tx))
        {
            foreach (var p in log.Parameters) cmd.Parameters.Add(p.Clone());
            await cmd.ExecuteNonQueryAsync();
        }
        var lines = new List<string>();
        long rows;
        await using (var cmd = new NpgsqlCommand("SELECT count(*) FROM hs_result", conn, tx)) rows = (long)(await cmd.ExecuteScalarAsync())!;
        await using (var cmd = new NpgsqlCommand(
            $"""
            WITH expected AS ({expectedSql})
            (SELECT 'only in result: ' || to_jsonb(r)::text FROM hs_result r EXCEPT ALL SELECT 'only in result: ' || e.row::text FROM expected e)
            UNION ALL
            (SELECT 'only expected: ' || e.row::text FROM expected e EXCEPT ALL SELECT 'only expected: ' || to_jsonb(r)::text FROM hs_result r)
            """, conn, tx))
        await using (var r = await cmd.ExecuteReaderAsync())
            while (await r.ReadAsync()) lines.Add(r.GetString(0));
        return (string.Join("\n", lines), rows);
    }

    /// <summary>The table's rows at a step.</summary>
    public static string At(string table, int step) => $"SELECT s.row FROM oracle.states s WHERE s.tbl = '{table}' AND s.step = {step}";

    /// <summary>The versions seen at any step from <paramref name="first"/> to <paramref name="last"/>.</summary>
    public static string SeenIn(string table, int first, int last) =>
        $"SELECT DISTINCT s.row FROM oracle.states s WHERE s.tbl = '{table}' AND s.step BETWEEN {first} AND {last}";

    /// <summary>The versions seen between the steps, but neither at <paramref name="first"/> nor at <paramref name="last"/>.</summary>
    public static string WithinOnly(string table, int first, int last) =>
        $"""
        SELECT DISTINCT s.row FROM oracle.states s
        WHERE s.tbl = '{table}' AND s.step > {first} AND s.step < {last}
          AND NOT EXISTS (SELECT 1 FROM oracle.states o WHERE o.tbl = s.tbl AND o.step IN ({first}, {last}) AND o.row = s.row)
        """;
}
