using System.Data;
using Npgsql;
using Xunit;

namespace Hindsight.Tests.Infrastructure;

/// <summary>
/// The oracle of revert and rollback tests: real copies of tables taken by PostgreSQL in one transaction (in schema
/// <c>copies</c>, which the harness does not track), and the rows a table and its copy differ by, compared as
/// <c>to_jsonb</c> by PostgreSQL itself.
/// </summary>
public static class TableCopies
{
    /// <summary>
    /// Copies each table (SQL name) to <c>copies.{copy}_{suffix}</c> in one REPEATABLE READ transaction; returns its
    /// moment (<c>now()</c>: every earlier commit is at or before it, every later one after it).
    /// </summary>
    public static async Task<DateTimeOffset> CopyAsync(CaptureHarness h, string suffix, params (string Table, string Copy)[] tables)
    {
        await using var conn = await h.Source.OpenConnectionAsync();
        await using var tx = await conn.BeginTransactionAsync(IsolationLevel.RepeatableRead);
        DateTime at;
        await using (var cmd = new NpgsqlCommand("SELECT now()", conn, tx)) at = (DateTime)(await cmd.ExecuteScalarAsync())!;
        foreach (var (t, copy) in tables)
            await using (var cmd = new NpgsqlCommand($"CREATE TABLE copies.{copy}_{suffix} AS SELECT * FROM {t}", conn, tx))
                await cmd.ExecuteNonQueryAsync();
        await tx.CommitAsync();
        return new DateTimeOffset(DateTime.SpecifyKind(at, DateTimeKind.Utc));
    }

    /// <summary>Copies each table to <c>copies.{table}_{suffix}</c> (see <see cref="CopyAsync(CaptureHarness, string, ValueTuple{string, string}[])"/>).</summary>
    public static Task<DateTimeOffset> CopyAsync(CaptureHarness h, string suffix, IEnumerable<string> tables) =>
        CopyAsync(h, suffix, tables.Select(t => (t, t)).ToArray());

    /// <summary>The rows that differ between a table and its copy (as to_jsonb), both ways; empty when equal row for row.</summary>
    public static async Task<string> DifferenceAsync(CaptureHarness h, string table, string suffix)
    {
        var rows = await h.RowsAsync($"""
            (SELECT 'only now: ' || to_jsonb(x)::text FROM {table} x EXCEPT ALL SELECT 'only now: ' || to_jsonb(y)::text FROM copies.{table}_{suffix} y)
            UNION ALL
            (SELECT 'only then: ' || to_jsonb(y)::text FROM copies.{table}_{suffix} y EXCEPT ALL SELECT 'only then: ' || to_jsonb(x)::text FROM {table} x)
            """);
        return string.Join("\n", rows.Select(r => r[0]));
    }

    /// <summary>Asserts each table equals its copy <c>copies.{table}_{suffix}</c> row for row.</summary>
    public static async Task AssertSameAsync(CaptureHarness h, string suffix, IEnumerable<string> tables)
    {
        foreach (var t in tables)
        {
            var diff = await DifferenceAsync(h, t, suffix);
            Assert.True(diff.Length == 0, $"{t} differs from copies.{t}_{suffix}:\n{diff}");
        }
    }
}
