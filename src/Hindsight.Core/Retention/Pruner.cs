using System.Text.Json.Nodes;
using Hindsight.Model;
using Npgsql;
using NpgsqlTypes;

namespace Hindsight.Retention;

/// <summary>
/// Retention of the store: pruning changes older than a horizon (folded into one SNAPSHOT change per row that existed
/// then, so as-of at or after the horizon stays exact), legal holds that keep changes from it, and per-table policies
/// the worker applies on a schedule. The pruning itself is the store's function <c>hindsight.prune_changes</c> (store
/// migration 11); this class checks the input, names the tables, and reads and writes holds and policies.
/// </summary>
/// <param name="store">The store database (the one holding schema <c>hindsight</c>), as a role that may delete from it (its owner).</param>
public sealed class Pruner(NpgsqlDataSource store)
{
    private readonly NpgsqlDataSource _store = store ?? throw new ArgumentNullException(nameof(store));

    /// <summary>
    /// Prunes the changes committed before <paramref name="horizon"/> of <paramref name="tables"/> (every table when
    /// empty), except those a legal hold matches. With <paramref name="dryRun"/>, only says what it would do.
    /// </summary>
    /// <exception cref="RetentionException">The horizon is in the future, a table is unknown or ambiguous, or the store is older than retention.</exception>
    public async Task<PruneResult> PruneAsync(DateTimeOffset horizon, IReadOnlyList<TableName> tables, bool dryRun = false,
        CancellationToken cancellationToken = default)
    {
        var ct = cancellationToken;
        if (horizon > DateTimeOffset.UtcNow)
            throw new RetentionException($"the horizon {Query.PrunedHistory.Text(horizon)} is in the future: only changes older than now can be pruned. Nothing was pruned.");
        var conn = await _store.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var connDisposal = conn.ConfigureAwait(false);
        await RequireRetentionAsync(conn, ct).ConfigureAwait(false);
        var named = new List<(string Schema, string Table)>();
        foreach (var t in tables) named.Add(await ResolveAsync(conn, t, ct).ConfigureAwait(false));

        var tx = await conn.BeginTransactionAsync(ct).ConfigureAwait(false);
        await using var txDisposal = tx.ConfigureAwait(false);
        var cmd = new NpgsqlCommand("SELECT * FROM hindsight.prune_changes($1, $2, $3, $4)", conn, tx) { CommandTimeout = 0 };
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        cmd.Parameters.Add(new NpgsqlParameter { Value = horizon.ToUniversalTime(), NpgsqlDbType = NpgsqlDbType.TimestampTz });
        cmd.Parameters.Add(new NpgsqlParameter { Value = named.Count == 0 ? DBNull.Value : named.Select(n => n.Schema).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        cmd.Parameters.Add(new NpgsqlParameter { Value = named.Count == 0 ? DBNull.Value : named.Select(n => n.Table).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        cmd.Parameters.AddWithValue(dryRun);
        var result = await ReadResultAsync(cmd, horizon, dryRun, ct).ConfigureAwait(false);
        await tx.CommitAsync(ct).ConfigureAwait(false);
        return result;
    }

    /// <summary>Applies the stored retention policies now (what the worker does on its schedule).</summary>
    public async Task<PruneResult> ApplyPoliciesAsync(CancellationToken cancellationToken = default)
    {
        var ct = cancellationToken;
        var conn = await _store.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var connDisposal = conn.ConfigureAwait(false);
        await RequireRetentionAsync(conn, ct).ConfigureAwait(false);
        var cmd = new NpgsqlCommand("SELECT * FROM hindsight.apply_retention()", conn) { CommandTimeout = 0 };
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        return await ReadResultAsync(cmd, DateTimeOffset.UtcNow, dryRun: false, ct).ConfigureAwait(false);
    }

    /// <summary>Places a legal hold. At least a table or a context is given; a key needs its table.</summary>
    /// <exception cref="RetentionException">Nothing to hold by, a key without a table, no reason, or an unknown table.</exception>
    public async Task<LegalHold> HoldAsync(TableName? table, string? primaryKey, JsonObject? context, string reason, string? source = null,
        CancellationToken cancellationToken = default)
    {
        var ct = cancellationToken;
        if (table is null && context is null) throw new RetentionException("a legal hold needs a table, a context to match, or both");
        if (primaryKey is not null && table is null) throw new RetentionException("a legal hold on a key needs its table");
        if (string.IsNullOrWhiteSpace(reason)) throw new RetentionException("a legal hold needs a reason (the case or ticket it is for)");
        var conn = await _store.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var connDisposal = conn.ConfigureAwait(false);
        await RequireRetentionAsync(conn, ct).ConfigureAwait(false);
        (string Schema, string Table)? named = table is null ? null : await ResolveAsync(conn, table, ct).ConfigureAwait(false);
        var cmd = new NpgsqlCommand(
            """
            INSERT INTO hindsight.legal_holds (source, schema, "table", primary_key, context, reason) VALUES ($1, $2, $3, $4, $5, $6)
            RETURNING id, source, schema, "table", primary_key, context::text, reason, created_at, created_by
            """, conn);
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)source ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)named?.Schema ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)named?.Table ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)primaryKey ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)context?.ToJsonString() ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Jsonb });
        cmd.Parameters.AddWithValue(reason.Trim());
        var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        await using var rDisposal = r.ConfigureAwait(false);
        await r.ReadAsync(ct).ConfigureAwait(false);
        return ReadHold(r);
    }

    /// <summary>The legal holds in place, oldest first.</summary>
    public async Task<IReadOnlyList<LegalHold>> HoldsAsync(CancellationToken cancellationToken = default)
    {
        var ct = cancellationToken;
        var conn = await _store.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var connDisposal = conn.ConfigureAwait(false);
        return await ReadHoldsAsync(conn, ct).ConfigureAwait(false);
    }

    /// <summary>The legal holds of a store, oldest first; none on a store older than retention.</summary>
    internal static async Task<IReadOnlyList<LegalHold>> ReadHoldsAsync(NpgsqlConnection conn, CancellationToken ct)
    {
        if (!await Store.StoreMigrations.HasTableAsync(conn, null, "legal_holds", ct).ConfigureAwait(false)) return [];
        var cmd = new NpgsqlCommand(
            """SELECT id, source, schema, "table", primary_key, context::text, reason, created_at, created_by FROM hindsight.legal_holds ORDER BY id""", conn);
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        await using var rDisposal = r.ConfigureAwait(false);
        var holds = new List<LegalHold>();
        while (await r.ReadAsync(ct).ConfigureAwait(false)) holds.Add(ReadHold(r));
        return holds;
    }

    /// <summary>Lifts a legal hold. Returns whether there was one with that number.</summary>
    public async Task<bool> ReleaseHoldAsync(long id, CancellationToken cancellationToken = default)
    {
        var conn = await _store.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var connDisposal = conn.ConfigureAwait(false);
        await RequireRetentionAsync(conn, cancellationToken).ConfigureAwait(false);
        var cmd = new NpgsqlCommand("DELETE FROM hindsight.legal_holds WHERE id = $1", conn);
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        cmd.Parameters.AddWithValue(id);
        return await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) > 0;
    }

    /// <summary>Sets how long a table's changes are kept (<c>*</c>: every table), replacing its policy if it had one.</summary>
    /// <exception cref="RetentionException">The time is not positive, or the table is unknown.</exception>
    public async Task<RetentionPolicy> SetPolicyAsync(TableName table, TimeSpan keep, CancellationToken cancellationToken = default)
    {
        var ct = cancellationToken;
        if (keep <= TimeSpan.Zero) throw new RetentionException("a retention policy keeps changes for more than no time (e.g. 90d)");
        var conn = await _store.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var connDisposal = conn.ConfigureAwait(false);
        await RequireRetentionAsync(conn, ct).ConfigureAwait(false);
        var (schema, name) = table.Name == "*" && table.Schema is null or "*" ? ("*", "*") : await ResolveAsync(conn, table, ct).ConfigureAwait(false);
        var cmd = new NpgsqlCommand(
            """
            INSERT INTO hindsight.retention_policies (schema, "table", keep) VALUES ($1, $2, $3)
            ON CONFLICT (schema, "table") DO UPDATE SET keep = excluded.keep, created_at = now(), created_by = session_user
            RETURNING schema, "table", keep, created_at, created_by
            """, conn);
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        cmd.Parameters.AddWithValue(schema);
        cmd.Parameters.AddWithValue(name);
        cmd.Parameters.AddWithValue(keep);
        var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        await using var rDisposal = r.ConfigureAwait(false);
        await r.ReadAsync(ct).ConfigureAwait(false);
        return new RetentionPolicy(r.GetString(0), r.GetString(1), r.GetTimeSpan(2), r.GetFieldValue<DateTimeOffset>(3), r.GetString(4));
    }

    /// <summary>The retention policies, longest kept first.</summary>
    public async Task<IReadOnlyList<RetentionPolicy>> PoliciesAsync(CancellationToken cancellationToken = default)
    {
        var ct = cancellationToken;
        var conn = await _store.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var connDisposal = conn.ConfigureAwait(false);
        if (!await Store.StoreMigrations.HasTableAsync(conn, null, "retention_policies", ct).ConfigureAwait(false)) return [];
        var cmd = new NpgsqlCommand("""SELECT schema, "table", keep, created_at, created_by FROM hindsight.retention_policies ORDER BY keep DESC, schema, "table" """, conn);
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        await using var rDisposal = r.ConfigureAwait(false);
        var policies = new List<RetentionPolicy>();
        while (await r.ReadAsync(ct).ConfigureAwait(false))
            policies.Add(new RetentionPolicy(r.GetString(0), r.GetString(1), r.GetTimeSpan(2), r.GetFieldValue<DateTimeOffset>(3), r.GetString(4)));
        return policies;
    }

    /// <summary>Removes a table's retention policy. Returns whether it had one.</summary>
    public async Task<bool> RemovePolicyAsync(TableName table, CancellationToken cancellationToken = default)
    {
        var ct = cancellationToken;
        var conn = await _store.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var connDisposal = conn.ConfigureAwait(false);
        await RequireRetentionAsync(conn, ct).ConfigureAwait(false);
        var cmd = new NpgsqlCommand(
            """DELETE FROM hindsight.retention_policies WHERE "table" = $1 AND ($2::text IS NULL OR schema = $2)""", conn);
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        cmd.Parameters.AddWithValue(table.Name);
        cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)(table.Name == "*" ? "*" : table.Schema) ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        return await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false) > 0;
    }

    /// <summary>The schema and name of a table the store holds changes of; a bare name must be one schema's.</summary>
    private static async Task<(string Schema, string Table)> ResolveAsync(NpgsqlConnection conn, TableName table, CancellationToken ct)
    {
        // One probe of the record index per schema (it leads with the table's name), rather than a scan for DISTINCT.
        var cmd = new NpgsqlCommand(
            """
            WITH RECURSIVE s(schema) AS (
                SELECT min(c.schema) FROM hindsight.changes c WHERE c."table" = $1
                UNION ALL
                SELECT (SELECT min(c.schema) FROM hindsight.changes c WHERE c."table" = $1 AND c.schema > s.schema) FROM s WHERE s.schema IS NOT NULL)
            SELECT schema FROM s WHERE schema IS NOT NULL AND ($2::text IS NULL OR schema = $2)
            """, conn);
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        cmd.Parameters.AddWithValue(table.Name);
        cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)table.Schema ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        var schemas = new List<string>();
        var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        await using (r.ConfigureAwait(false))
            while (await r.ReadAsync(ct).ConfigureAwait(false)) schemas.Add(r.GetString(0));
        return schemas.Count switch
        {
            0 => throw new RetentionException($"unknown table {table}: the store holds no change of it. Nothing was changed."),
            1 => (schemas[0], table.Name),
            _ => throw new RetentionException(
                $"table {table} is ambiguous: the store holds changes of {string.Join(", ", schemas.Select(s => new TableName(s, table.Name)))}; name its schema. Nothing was changed."),
        };
    }

    private static async Task RequireRetentionAsync(NpgsqlConnection conn, CancellationToken ct)
    {
        if (!await Store.StoreMigrations.HasTableAsync(conn, null, "prunes", ct).ConfigureAwait(false))
            throw new RetentionException("the store is older than retention (store migration 11): run 'hindsight setup' first");
    }

    private static async Task<PruneResult> ReadResultAsync(NpgsqlCommand cmd, DateTimeOffset horizon, bool dryRun, CancellationToken ct)
    {
        var tables = new List<PrunedTable>();
        var dropped = new SortedSet<string>(StringComparer.Ordinal);
        try
        {
            var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
            await using var rDisposal = r.ConfigureAwait(false);
            while (await r.ReadAsync(ct).ConfigureAwait(false))
            {
                tables.Add(new PrunedTable(r.GetString(0), r.GetString(1), r.GetString(2), r.GetInt64(3), r.GetInt64(4), r.GetInt64(5)));
                foreach (var p in r.GetFieldValue<string[]>(6)) dropped.Add(p);
            }
        }
        catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.InvalidParameterValue or PostgresErrorCodes.InsufficientPrivilege)
        {
            throw new RetentionException(e.MessageText + ". Nothing was pruned.", e);
        }
        return new PruneResult(horizon, dryRun, tables, [.. dropped]);
    }

    private static LegalHold ReadHold(NpgsqlDataReader r) => new(
        r.GetInt64(0), r.IsDBNull(1) ? null : r.GetString(1), r.IsDBNull(2) ? null : r.GetString(2), r.IsDBNull(3) ? null : r.GetString(3),
        r.IsDBNull(4) ? null : r.GetString(4), r.IsDBNull(5) ? null : JsonNode.Parse(r.GetString(5)) as JsonObject,
        r.GetString(6), r.GetFieldValue<DateTimeOffset>(7), r.GetString(8));

}
