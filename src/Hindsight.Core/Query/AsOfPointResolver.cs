using Hindsight.Postgres;
using Npgsql;
using NpgsqlTypes;

namespace Hindsight.Query;

/// <summary>Turns an <see cref="AsOfPoint"/> into the cut of changes that count, from what the store records.</summary>
internal static class AsOfPointResolver
{
    /// <summary>The cut, and the scope the read is confined to (a transaction's own source; otherwise the one given, or null).</summary>
    /// <exception cref="AuditQueryException">An unknown or ambiguous transaction; an LSN before every stored commit.</exception>
    public static async Task<(AsOfCut Cut, SourceScope? Scope)> ResolveAsync(NpgsqlConnection conn, AsOfPoint point, SourceScope? scope, CancellationToken ct)
    {
        if (point.Time is { } time) return (new AsOfCut(time, null), scope);
        if (point.TransactionId is { } xid) return await TransactionAsync(conn, xid, scope, ct).ConfigureAwait(false);
        return (await LsnAsync(conn, (long)(ulong)point.Lsn!.Value, scope, ct).ConfigureAwait(false), scope);
    }

    private static async Task<(AsOfCut, SourceScope?)> TransactionAsync(NpgsqlConnection conn, long xid, SourceScope? scope, CancellationToken ct)
    {
        var p = new ChangeSql.Parameters();
        var where = $"c.transaction_id = {p.Add(xid, NpgsqlDbType.Bigint)}";
        if (scope?.Source is { } source) where += $" AND c.source = {p.Add(source, NpgsqlDbType.Text)}";
        if (scope?.Database is { } database) where += $" AND c.database = {p.Add(database, NpgsqlDbType.Text)}";
        // One transaction is one (source, commit_lsn). An xid can name several: sources on different servers (each
        // numbers its own), or one source after xid wraparound (every ~4 billion transactions).
        var sql = $"""
            SELECT c.source, c.commit_lsn, min(c.committed_at)
            FROM hindsight.changes c WHERE {where}
            GROUP BY c.source, c.commit_lsn ORDER BY c.source, c.commit_lsn LIMIT 10
            """;
        var found = new List<(string Source, long CommitLsn, DateTimeOffset CommittedAt)>();
        var cmd = new NpgsqlCommand(sql, conn);
        await using (cmd.ConfigureAwait(false))
        {
            p.ApplyTo(cmd);
            var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
            await using var rDisposal = r.ConfigureAwait(false);
            while (await r.ReadAsync(ct).ConfigureAwait(false)) found.Add((r.GetString(0), r.GetInt64(1), r.GetFieldValue<DateTimeOffset>(2)));
        }
        if (found.Count == 0)
            throw new AuditQueryException(
                $"transaction {xid}{SourceScope.Describe(scope)} is not in the store: it changed no tracked table, or it was not captured (yet)");
        if (found.Count > 1)
            throw new AuditQueryException(
                $"transaction {xid} is ambiguous: the store holds {(found.Count == 10 ? "10 or more" : found.Count.ToString(System.Globalization.CultureInfo.InvariantCulture))} transactions with that id " +
                $"({string.Join(", ", found.Select(f => $"source {f.Source}, commit LSN {PgNames.FormatLsn((ulong)f.CommitLsn)}"))}); " +
                (found.Select(f => f.Source).Distinct().Count() > 1 ? "name the source, or give the commit LSN instead" : "give the commit LSN instead"));
        return (new AsOfCut(found[0].CommittedAt, found[0].CommitLsn), (scope ?? new SourceScope(null, null)).WithSource(found[0].Source));
    }

    private static async Task<AsOfCut> LsnAsync(NpgsqlConnection conn, long lsn, SourceScope? scope, CancellationToken ct)
    {
        var p = new ChangeSql.Parameters();
        var pl = p.Add(lsn, NpgsqlDbType.Bigint);
        var ofDatabase = scope?.Database is { } database ? $" AND c.database = {p.Add(database, NpgsqlDbType.Text)}" : "";
        // The newest commit at or before the LSN, per source from the (source, commit_lsn, ordinal) key index.
        string Newest(string s) => $"""
            SELECT c.commit_lsn, c.committed_at FROM hindsight.changes c
            WHERE c.source = {s}{ofDatabase} AND c.commit_lsn <= {pl} ORDER BY c.commit_lsn DESC, c.ordinal DESC LIMIT 1
            """;
        var sql = scope?.Source is { } source
            ? Newest(p.Add(source, NpgsqlDbType.Text))
            : $"""
              {ChangeSql.StoredSources}
              SELECT n.commit_lsn, n.committed_at FROM stored_sources d CROSS JOIN LATERAL ({Newest("d.source")}) n
              ORDER BY n.commit_lsn DESC LIMIT 1
              """;
        var cmd = new NpgsqlCommand(sql, conn);
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        p.ApplyTo(cmd);
        var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        await using var rDisposal = r.ConfigureAwait(false);
        if (!await r.ReadAsync(ct).ConfigureAwait(false))
            throw new AuditQueryException(
                $"nothing{SourceScope.Describe(scope)} is stored at or before LSN {PgNames.FormatLsn((ulong)lsn)}: tracking began after it");
        return new AsOfCut(r.GetFieldValue<DateTimeOffset>(1), lsn);
    }
}
