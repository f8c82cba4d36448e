using System.Globalization;
using Hindsight.Model;
using Npgsql;
using NpgsqlTypes;

namespace Hindsight.Query;

/// <summary>
/// What the store's prune log (<c>hindsight.prunes</c>) says about a table or a source: up to when its history was
/// pruned. Readers that need history before that horizon (as-of, rollback) refuse plainly instead of rebuilding from
/// what is left; history marks where it starts. A store older than retention was never pruned.
/// </summary>
internal static class PrunedHistory
{
    /// <summary>
    /// The newest horizon a table's changes (of <paramref name="source"/>, or any source) were pruned up to; with a null
    /// <paramref name="table"/>, any of the source's changes. Null when nothing was, or the store is older than retention.
    /// </summary>
    public static async Task<DateTimeOffset?> HorizonAsync(NpgsqlConnection conn, string? source, string? schema, string? table, CancellationToken ct) =>
        await Store.StoreMigrations.HasTableAsync(conn, null, "prunes", ct).ConfigureAwait(false)
            ? await ReadHorizonAsync(conn, source, schema, table, ct).ConfigureAwait(false)
            : null;

    /// <summary>As <see cref="HorizonAsync"/>, for a caller that knows the store has the prune log.</summary>
    public static async Task<DateTimeOffset?> ReadHorizonAsync(NpgsqlConnection conn, string? source, string? schema, string? table, CancellationToken ct)
    {
        var cmd = new NpgsqlCommand(
            """
            SELECT max(horizon) FROM hindsight.prunes
            WHERE ($1::text IS NULL OR "table" = $1) AND ($2::text IS NULL OR schema = $2) AND ($3::text IS NULL OR source = $3)
            """, conn);
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        foreach (var value in new[] { table, schema, source })
            cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)value ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        return await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false) is DateTime t ? new DateTimeOffset(t, TimeSpan.Zero) : null;
    }

    /// <summary>Refuses a read that needs a table's history before its horizon.</summary>
    /// <exception cref="AuditQueryException"><paramref name="at"/> is before <paramref name="horizon"/>.</exception>
    public static void RequireAfter(DateTimeOffset? horizon, TableName table, DateTimeOffset at, string what)
    {
        if (horizon is { } h && at < h)
            throw new AuditQueryException(
                $"the history of {table} was pruned up to {Text(h)}: {what} at {Text(at)} would need changes that are no longer stored " +
                $"(at or after {Text(h)} it can be done)");
    }

    /// <summary>A moment as the messages write it.</summary>
    public static string Text(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFF'Z'", CultureInfo.InvariantCulture);
}
