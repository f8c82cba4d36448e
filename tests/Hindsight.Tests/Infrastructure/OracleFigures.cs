using Npgsql;

namespace Hindsight.Tests.Infrastructure;

/// <summary>
/// The exactly-once figures of a run: row changes PostgreSQL recorded (oracle trigger) against changes stored,
/// paired by (transaction, position in the transaction) so that interleaved transactions compare correctly.
/// </summary>
/// <param name="Made">Row changes PostgreSQL made (rows of <c>oracle.log</c>).</param>
/// <param name="Stored">Changes in <c>hindsight.changes</c>.</param>
/// <param name="Missing">Oracle records with no stored change.</param>
/// <param name="Duplicated">Stored changes beyond the first for one (transaction, ordinal).</param>
/// <param name="Mismatched">Pairs whose table, operation or images differ, plus unpaired rows on either side.</param>
public sealed record OracleFigures(long Made, long Stored, long Missing, long Duplicated, long Mismatched)
{
    private const string Sql =
        """
        WITH c AS (
            SELECT transaction_id AS xid, ordinal AS n, "table" AS tbl, operation, before, after
            FROM hindsight.changes WHERE operation <> 'SNAPSHOT'),
        o AS (
            SELECT xid % 4294967296 AS xid, row_number() OVER (PARTITION BY xid ORDER BY seq) AS n, tbl, op AS operation, before, after
            FROM oracle.log)
        SELECT (SELECT count(*) FROM o), (SELECT count(*) FROM c),
               (SELECT count(*) FROM o WHERE NOT EXISTS (SELECT 1 FROM c WHERE c.xid = o.xid AND c.n = o.n)),
               (SELECT count(*) - count(DISTINCT (xid, n)) FROM c),
               (SELECT count(*) FROM c FULL JOIN o USING (xid, n)
                WHERE c.xid IS NULL OR o.xid IS NULL OR c.tbl <> o.tbl OR c.operation <> o.operation
                   OR c.before <> o.before OR c.after <> o.after)
        """;

    /// <summary>True when every change PostgreSQL made is stored exactly once with equal images.</summary>
    public bool ExactlyOnce => Made == Stored && Missing == 0 && Duplicated == 0 && Mismatched == 0;

    /// <summary>Reads the figures from a database holding both <c>hindsight.changes</c> and <c>oracle.log</c>.</summary>
    public static async Task<OracleFigures> ReadAsync(NpgsqlDataSource db)
    {
        await using var cmd = db.CreateCommand(Sql);
        await using var r = await cmd.ExecuteReaderAsync();
        await r.ReadAsync();
        return new OracleFigures(r.GetInt64(0), r.GetInt64(1), r.GetInt64(2), r.GetInt64(3), r.GetInt64(4));
    }

    /// <summary>
    /// Reads the figures when the store is another database: the oracle log is copied (binary COPY, unchanged)
    /// from <paramref name="source"/> into an <c>oracle.log</c> in <paramref name="store"/> first.
    /// </summary>
    public static async Task<OracleFigures> ReadAsync(NpgsqlDataSource source, NpgsqlDataSource store)
    {
        await using (var cmd = store.CreateCommand(Oracle.Install + "TRUNCATE oracle.log;")) await cmd.ExecuteNonQueryAsync();
        await using (var from = await source.OpenConnectionAsync())
        await using (var to = await store.OpenConnectionAsync())
        {
            const string columns = "(seq, xid, tbl, op, before, after)";
            await using var reader = await from.BeginRawBinaryCopyAsync($"COPY oracle.log {columns} TO STDOUT (FORMAT binary)");
            await using var writer = await to.BeginRawBinaryCopyAsync($"COPY oracle.log {columns} FROM STDIN (FORMAT binary)");
            await reader.CopyToAsync(writer);
        }
        return await ReadAsync(store);
    }

    /// <inheritdoc />
    public override string ToString() =>
        $"row changes PostgreSQL made {Made}, stored {Stored}, missing {Missing}, duplicated {Duplicated}, mismatched {Mismatched}";
}
