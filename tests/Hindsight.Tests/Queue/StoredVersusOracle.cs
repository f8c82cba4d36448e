using Npgsql;
using Xunit;

namespace Hindsight.Tests.Queue;

/// <summary>
/// Compares a source's changes in a store (any database, any server) with the oracle trigger's record in the source:
/// by transaction and order within it, table, operation and both images as PostgreSQL prints jsonb.
/// </summary>
internal static class StoredVersusOracle
{
    public static async Task AssertExactlyOnceAsync(NpgsqlDataSource store, NpgsqlDataSource source, string sourceName, Xunit.Abstractions.ITestOutputHelper output)
    {
        var stored = await ReadAsync(store,
            "SELECT transaction_id, ordinal, \"table\", operation, before::text, after::text FROM hindsight.changes WHERE source = $1", sourceName);
        var oracle = await ReadAsync(source,
            "SELECT xid % 4294967296, row_number() OVER (PARTITION BY xid ORDER BY seq), tbl, op, before::text, after::text FROM oracle.log");
        output.WriteLine($"source {sourceName}: oracle {oracle.Count}, stored {stored.Count}");
        Assert.True(oracle.Count > 500, $"the workload should have made a real number of changes ({oracle.Count})");
        Assert.Equal(oracle.Count, stored.Count);
        Assert.Empty(oracle.Except(stored).Take(5));
    }

    private static async Task<HashSet<(long Xid, long N, string Table, string Op, string Before, string After)>> ReadAsync(NpgsqlDataSource db, string sql, params object[] args)
    {
        await using var cmd = db.CreateCommand(sql);
        foreach (var a in args) cmd.Parameters.AddWithValue(a);
        await using var r = await cmd.ExecuteReaderAsync();
        var rows = new HashSet<(long, long, string, string, string, string)>();
        while (await r.ReadAsync())
            Assert.True(rows.Add((Convert.ToInt64(r.GetValue(0)), Convert.ToInt64(r.GetValue(1)), r.GetString(2), r.GetString(3), r.GetString(4), r.GetString(5))),
                "a change twice");
        return rows;
    }
}
