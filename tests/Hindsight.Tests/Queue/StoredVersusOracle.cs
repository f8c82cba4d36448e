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

        // Every row's history in the store's order (commit LSN, then order in the transaction) is the order PostgreSQL
        // wrote its versions in (the oracle's sequence): the same operations and images, one after another.
        var storedHistories = await HistoriesAsync(store,
            """
            SELECT "table", coalesce(after ->> 'id', before ->> 'id'), operation, after::text FROM hindsight.changes
            WHERE source = $1 ORDER BY commit_lsn, ordinal
            """, sourceName);
        var oracleHistories = await HistoriesAsync(source,
            "SELECT tbl, coalesce(after ->> 'id', before ->> 'id'), op, after::text FROM oracle.log ORDER BY seq");
        Assert.Equal(oracleHistories.Count, storedHistories.Count);
        foreach (var (row, history) in oracleHistories)
            Assert.True(storedHistories.TryGetValue(row, out var mine) && mine.SequenceEqual(history), $"the history of {row} is out of order or differs");

        // The ingesters chained what they stored, each batch a block, side by side and through redeliveries: every
        // change is in the chain once, and the chain verifies.
        var chain = await new Hindsight.Chain.TrailVerifier(store).VerifyAsync(new Hindsight.Chain.VerificationOptions { Source = sourceName });
        Assert.True(chain.Intact, string.Join("\n", chain.Breaks.Select(b => $"{b.Kind}: {b.Detail}")));
        Assert.Equal(stored.Count, chain.Sources.Single().VerifiedChanges);
        Assert.Equal(stored.Count, chain.Sources.Single().ChainedChanges);
        output.WriteLine($"source {sourceName}: chain of {chain.Sources.Single().Blocks} blocks intact");
    }

    private static async Task<Dictionary<string, List<string>>> HistoriesAsync(NpgsqlDataSource db, string sql, params object[] args)
    {
        await using var cmd = db.CreateCommand(sql);
        foreach (var a in args) cmd.Parameters.AddWithValue(a);
        await using var r = await cmd.ExecuteReaderAsync();
        var histories = new Dictionary<string, List<string>>();
        while (await r.ReadAsync())
        {
            var row = r.GetString(0) + "/" + r.GetString(1);
            if (!histories.TryGetValue(row, out var list)) histories[row] = list = [];
            list.Add(r.GetString(2) + " " + r.GetString(3));
        }
        return histories;
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
