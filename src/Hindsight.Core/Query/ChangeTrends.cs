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
    /// so that the result does not depend on the server's time zone.
    /// </summary>
    public async Task<IReadOnlyList<TrendPoint>> CountAsync(ChangeFilter filter, TrendBucket bucket, TrendGrouping by,
        CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        ArgumentNullException.ThrowIfNull(by);
        var p = new ChangeSql.Parameters();
        var where = ChangeSql.Where(filter, p);
        var field = p.Add(TrendBucketParser.Field(bucket), NpgsqlDbType.Text);
        var group = by.Kind switch
        {
            TrendGroupKind.Table => """c.schema || '.' || c."table" """,
            TrendGroupKind.Operation => "c.operation",
            TrendGroupKind.Source => "c.source",
            // The key is a value: ->> with a parameter, so any text (quotes, SQL) is just a key that is not there.
            _ => $"c.context ->> {p.Add(by.ContextKey!, NpgsqlDbType.Text)}",
        };
        var sql = $"""
            SELECT date_trunc({field}, c.committed_at, 'UTC') AS bucket, {group} AS grp, count(*)
            FROM hindsight.changes c
            WHERE {where}
            GROUP BY 1, 2
            ORDER BY 1, 2 NULLS LAST
            """;
        var cmd = _store.CreateCommand(sql);
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        p.ApplyTo(cmd);
        var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        await using var rDisposal = r.ConfigureAwait(false);
        var points = new List<TrendPoint>();
        while (await r.ReadAsync(ct).ConfigureAwait(false))
            points.Add(new TrendPoint(r.GetFieldValue<DateTimeOffset>(0), r.IsDBNull(1) ? null : r.GetString(1), r.GetInt64(2)));
        return points;
    }
}
