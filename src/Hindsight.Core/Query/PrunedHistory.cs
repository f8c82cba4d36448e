using System.Globalization;
using Hindsight.Model;
using Npgsql;
using NpgsqlTypes;

namespace Hindsight.Query;

/// <summary>
/// What the store's prune log (<c>hindsight.prunes</c>) says about a table or a change: up to when its history was
/// pruned. Readers that need history before that horizon (as-of, rollback) refuse plainly instead of rebuilding from
/// what is left; history marks where it starts. A store older than retention was never pruned.
/// </summary>
internal static class PrunedHistory
{
    /// <summary>The newest horizon a table's changes (of <paramref name="source"/>, or any source) were pruned up to.</summary>
    public static async Task<DateTimeOffset?> HorizonAsync(NpgsqlConnection conn, string? source, string? schema, string table, CancellationToken ct)
    {
        if (!await Store.StoreMigrations.HasTableAsync(conn, null, "prunes", ct).ConfigureAwait(false)) return null;
        var cmd = new NpgsqlCommand(
            """
            SELECT max(horizon) FROM hindsight.prunes
            WHERE "table" = $1 AND ($2::text IS NULL OR schema = $2) AND ($3::text IS NULL OR source = $3)
            """, conn);
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        cmd.Parameters.AddWithValue(table);
        cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)schema ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)source ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        return await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false) is DateTime t ? new DateTimeOffset(t, TimeSpan.Zero) : null;
    }

    /// <summary>The newest horizon any of a source's changes were pruned up to (every source when null).</summary>
    public static async Task<DateTimeOffset?> SourceHorizonAsync(NpgsqlConnection conn, string? source, CancellationToken ct)
    {
        if (!await Store.StoreMigrations.HasTableAsync(conn, null, "prunes", ct).ConfigureAwait(false)) return null;
        var cmd = new NpgsqlCommand("SELECT max(horizon) FROM hindsight.prunes WHERE $1::text IS NULL OR source = $1", conn);
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)source ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        return await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false) is DateTime t ? new DateTimeOffset(t, TimeSpan.Zero) : null;
    }

    /// <summary>Refuses a read that needs a table's history before its horizon.</summary>
    /// <exception cref="AuditQueryException"><paramref name="at"/> is before the horizon.</exception>
    public static async Task RequireAfterHorizonAsync(NpgsqlConnection conn, string? source, TableName table, DateTimeOffset at, string what,
        CancellationToken ct)
    {
        if (await HorizonAsync(conn, source, table.Schema, table.Name, ct).ConfigureAwait(false) is { } horizon && at < horizon)
            throw new AuditQueryException(
                $"the history of {table} was pruned up to {Text(horizon)}: {what} at {Text(at)} would need changes that are no longer stored " +
                $"(at or after {Text(horizon)} it can be done)");
    }

    /// <summary>A moment as the messages write it.</summary>
    public static string Text(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFF'Z'", CultureInfo.InvariantCulture);
}
