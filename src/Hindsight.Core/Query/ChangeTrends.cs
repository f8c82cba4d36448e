using System.Globalization;
using System.Text;
using Npgsql;
using NpgsqlTypes;

namespace Hindsight.Query;

/// <summary>
/// Counts of changes in time buckets, grouped by table, operation, source or a context key, narrowed by the
/// same <see cref="ChangeFilter"/> as <see cref="AuditTrail.QueryAsync"/>. One query; every value is a parameter.
/// </summary>
/// <param name="store">The store database (the one holding schema <c>hindsight</c>).</param>
public sealed class ChangeTrends(NpgsqlDataSource store)
{
    private readonly NpgsqlDataSource _store = store ?? throw new ArgumentNullException(nameof(store));

    /// <summary>
    /// The counts, ordered by bucket then group (nulls last). Buckets without changes are left out. Buckets are cut in UTC
    /// so that the result does not depend on the server's time zone. Hour, day and week buckets grouped by table,
    /// operation or source, filtered by nothing else than tables, operations, time, source and database, read the
    /// store's hourly counts for the whole hours they cover and count the rest live (the changes stored since the counts
    /// were brought up to date, and the part hours at the ends of the time filter): in one statement, so exact.
    /// </summary>
    public async Task<IReadOnlyList<TrendPoint>> CountAsync(ChangeFilter filter, TrendBucket bucket, TrendGrouping by,
        CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        ArgumentNullException.ThrowIfNull(by);
        var conn = await _store.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var connDisposal = conn.ConfigureAwait(false);
        var useCounts = FromCounts(filter, bucket, by)
            && await _counts.ExistsAsync(conn, ct).ConfigureAwait(false);
        var p = new ChangeSql.Parameters();
        var field = p.Add(TrendBucketParser.Field(bucket), NpgsqlDbType.Text);
        var group = by.Kind switch
        {
            TrendGroupKind.Table => """c.schema || '.' || c."table" """,
            TrendGroupKind.Operation => "c.operation",
            TrendGroupKind.Source => "c.source",
            // The key is a value: ->> with a parameter, so any text (quotes, SQL) is just a key that is not there.
            _ => $"c.context ->> {p.Add(by.ContextKey!, NpgsqlDbType.Text)}",
        };
        // The watermark and the counts are read in one snapshot (a repeatable-read transaction), so that a count brought up
        // to date meanwhile is neither missed nor counted twice; the watermark travels as a value, so that the planner
        // reads the changes after it by the primary key instead of scanning every partition for an unknown bound.
        var tx = await conn.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, ct).ConfigureAwait(false);
        await using var txDisposal = tx.ConfigureAwait(false);
        long? counted = null;
        if (useCounts)
        {
            var watermark = new NpgsqlCommand("SELECT s.counted_to FROM hindsight.change_counts_state s", conn, tx);
            await using (watermark.ConfigureAwait(false))
                counted = await watermark.ExecuteScalarAsync(ct).ConfigureAwait(false) as long?;
        }
        var sql = counted is { } w ? CountsStatement(filter, group, field, w, p) : $"""
            SELECT date_trunc({field}, c.committed_at, 'UTC') AS bucket, {group} AS grp, count(*)
            FROM hindsight.changes c
            WHERE {ChangeSql.Where(filter, p)}
            GROUP BY 1, 2
            ORDER BY 1, 2 NULLS LAST
            """;
        var cmd = new NpgsqlCommand(sql, conn, tx);
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        p.ApplyTo(cmd);
        var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        await using var rDisposal = r.ConfigureAwait(false);
        var points = new List<TrendPoint>();
        while (await r.ReadAsync(ct).ConfigureAwait(false))
            points.Add(new TrendPoint(r.GetFieldValue<DateTimeOffset>(0), r.IsDBNull(1) ? null : r.GetString(1), r.GetInt64(2)));
        return points;
    }

    // The hourly counts (store migration 12), asked for until the store has them.
    private readonly Store.MigratedTable _counts = new(Store.ChangeCounts.StateTable);

    /// <summary>Whether the hourly counts can answer: what they hold is enough to filter, group and bucket by.</summary>
    private static bool FromCounts(ChangeFilter f, TrendBucket bucket, TrendGrouping by) =>
        bucket is TrendBucket.Hour or TrendBucket.Day or TrendBucket.Week
        && by.Kind is TrendGroupKind.Table or TrendGroupKind.Operation or TrendGroupKind.Source
        && f.PrimaryKey is null && f.TransactionId is null
        && f.Context is null or "{}" && f.Before is null or "{}" && f.After is null or "{}";

    /// <summary>
    /// Counts from the hourly counts for the whole hours in the filter's time, plus live counts of what they do not hold:
    /// the changes stored after <c>counted_to</c> (read by id, so the last minutes), and those of the part hours at the
    /// ends of the time filter.
    /// </summary>
    private static string CountsStatement(ChangeFilter filter, string group, string field, long countedTo, ChangeSql.Parameters p)
    {
        var hour = TimeSpan.FromHours(1);
        DateTimeOffset? first = filter.Since is { } since ? Ceiling(since.ToUniversalTime(), hour) : null;
        DateTimeOffset? end = filter.Until is { } until ? Floor(until.ToUniversalTime(), hour) : null;
        var whole = ChangeSql.Where(filter with { Since = null, Until = null }, p);
        if (first is { } f) whole += $"\n  AND c.committed_at >= {p.Add(f, NpgsqlDbType.TimestampTz)}";
        if (end is { } e) whole += $"\n  AND c.committed_at < {p.Add(e, NpgsqlDbType.TimestampTz)}";
        var live = ChangeSql.Where(filter, p);
        var counted = p.Add(countedTo, NpgsqlDbType.Bigint);
        var sql = new StringBuilder($"""
            WITH counts AS (
                SELECT c.committed_at, {group} AS grp, c.changes AS n
                FROM (SELECT k.hour AS committed_at, k.source, k.database, k.schema, k."table", k.operation, k.changes
                      FROM hindsight.change_counts k) c
                WHERE {whole}
                UNION ALL
                SELECT c.committed_at, {group}, 1
                FROM hindsight.changes c
                WHERE {live} AND c.id > {counted}
            """);
        // The part hours at the ends: counted changes there are not in the whole hours read above.
        var ends = new List<string>();
        if (first is { } a && a != filter.Since!.Value) ends.Add($"c.committed_at < {p.Add(a, NpgsqlDbType.TimestampTz)}");
        if (end is { } b && b != filter.Until!.Value) ends.Add($"c.committed_at >= {p.Add(b, NpgsqlDbType.TimestampTz)}");
        if (ends.Count > 0)
            sql.Append(CultureInfo.InvariantCulture, $"""

                    UNION ALL
                    SELECT c.committed_at, {group}, 1
                    FROM hindsight.changes c
                    WHERE {live} AND c.id <= {counted} AND ({string.Join(" OR ", ends)})
                """);
        sql.Append(CultureInfo.InvariantCulture, $"""

            )
            SELECT date_trunc({field}, c.committed_at, 'UTC') AS bucket, c.grp, sum(c.n)::bigint
            FROM counts c
            GROUP BY 1, 2
            HAVING sum(c.n) > 0
            ORDER BY 1, 2 NULLS LAST
            """);
        return sql.ToString();
    }

    private static DateTimeOffset Floor(DateTimeOffset t, TimeSpan unit) => new(t.UtcTicks - t.UtcTicks % unit.Ticks, TimeSpan.Zero);

    private static DateTimeOffset Ceiling(DateTimeOffset t, TimeSpan unit) =>
        t.UtcTicks % unit.Ticks == 0 ? t : Floor(t, unit).Add(unit);
}
