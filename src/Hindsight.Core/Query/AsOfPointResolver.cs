using Hindsight.Setup;
using Npgsql;
using NpgsqlTypes;

namespace Hindsight.Query;

/// <summary>Turns an <see cref="AsOfPoint"/> into the cut of changes that count, from what the store records.</summary>
internal static class AsOfPointResolver
{
    /// <summary>The cut, and the database the read is confined to (a transaction's own; otherwise the one given, or null).</summary>
    /// <exception cref="AuditQueryException">An unknown or ambiguous transaction; an LSN before every stored commit.</exception>
    public static async Task<(AsOfCut Cut, string? Database)> ResolveAsync(NpgsqlConnection conn, AsOfPoint point, string? database, CancellationToken ct)
    {
        if (point.Time is { } time) return (new AsOfCut(time, null), database);
        if (point.TransactionId is { } xid) return await TransactionAsync(conn, xid, database, ct);
        return (await LsnAsync(conn, (long)(ulong)point.Lsn!.Value, database, ct), database);
    }

    private static async Task<(AsOfCut, string?)> TransactionAsync(NpgsqlConnection conn, long xid, string? database, CancellationToken ct)
    {
        var p = new ChangeSql.Parameters();
        var where = $"c.transaction_id = {p.Add(xid, NpgsqlDbType.Bigint)}";
        if (database is not null) where += $" AND c.database = {p.Add(database, NpgsqlDbType.Text)}";
        // One transaction is one (database, commit_lsn). An xid can name several: databases of different clusters
        // (each numbers its own), or one database after xid wraparound (every ~4 billion transactions).
        var sql = $"""
            SELECT c.database, c.commit_lsn, min(c.committed_at)
            FROM hindsight.changes c WHERE {where}
            GROUP BY c.database, c.commit_lsn ORDER BY c.database, c.commit_lsn LIMIT 10
            """;
        var found = new List<(string Database, long CommitLsn, DateTimeOffset CommittedAt)>();
        await using (var cmd = new NpgsqlCommand(sql, conn))
        {
            p.ApplyTo(cmd);
            await using var r = await cmd.ExecuteReaderAsync(ct);
            while (await r.ReadAsync(ct)) found.Add((r.GetString(0), r.GetInt64(1), r.GetFieldValue<DateTimeOffset>(2)));
        }
        var inDatabase = database is null ? "" : $" of database {database}";
        if (found.Count == 0)
            throw new AuditQueryException(
                $"transaction {xid}{inDatabase} is not in the store: it changed no tracked table, or it was not captured (yet)");
        if (found.Count > 1)
            throw new AuditQueryException(
                $"transaction {xid} is ambiguous: the store holds {(found.Count == 10 ? "10 or more" : found.Count.ToString(System.Globalization.CultureInfo.InvariantCulture))} transactions with that id " +
                $"({string.Join(", ", found.Select(f => $"database {f.Database}, commit LSN {PgNames.FormatLsn((ulong)f.CommitLsn)}"))}); " +
                (found.Select(f => f.Database).Distinct().Count() > 1 ? "name the database, or give the commit LSN instead" : "give the commit LSN instead"));
        return (new AsOfCut(found[0].CommittedAt, found[0].CommitLsn), found[0].Database);
    }

    private static async Task<AsOfCut> LsnAsync(NpgsqlConnection conn, long lsn, string? database, CancellationToken ct)
    {
        var p = new ChangeSql.Parameters();
        var pl = p.Add(lsn, NpgsqlDbType.Bigint);
        // The newest commit at or before the LSN, per database from the (database, commit_lsn, ordinal) key index.
        string Newest(string db) => $"""
            SELECT c.commit_lsn, c.committed_at FROM hindsight.changes c
            WHERE c.database = {db} AND c.commit_lsn <= {pl} ORDER BY c.commit_lsn DESC, c.ordinal DESC LIMIT 1
            """;
        var sql = database is not null
            ? Newest(p.Add(database, NpgsqlDbType.Text))
            : $"""
              {ChangeSql.StoredDatabases}
              SELECT n.commit_lsn, n.committed_at FROM stored_databases d CROSS JOIN LATERAL ({Newest("d.database")}) n
              ORDER BY n.commit_lsn DESC LIMIT 1
              """;
        await using var cmd = new NpgsqlCommand(sql, conn);
        p.ApplyTo(cmd);
        await using var r = await cmd.ExecuteReaderAsync(ct);
        if (!await r.ReadAsync(ct))
            throw new AuditQueryException(
                $"nothing{(database is null ? "" : $" of database {database}")} is stored at or before LSN {PgNames.FormatLsn((ulong)lsn)}: tracking began after it");
        return new AsOfCut(r.GetFieldValue<DateTimeOffset>(1), lsn);
    }
}
