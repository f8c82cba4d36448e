using Npgsql;
using static Hindsight.Setup.SetupSql;

namespace Hindsight.Setup;

/// <summary>
/// <c>setup --create-roles</c>: the three roles of a least-privilege installation (docs/security.md), created NOLOGIN
/// when missing and granted exactly what their job needs:
/// <list type="bullet">
/// <item><c>hindsight_capture</c> (source cluster): REPLICATION, member of <c>hindsight_writer</c> when the store is in
/// the same cluster. The worker logs in as it (<c>ALTER ROLE hindsight_capture LOGIN PASSWORD …</c>).</item>
/// <item><c>hindsight_writer</c> (store): appends changes and moves its progress row; reads what it appended (images
/// for unchanged TOAST values). No UPDATE, DELETE or TRUNCATE of changes or baselines.</item>
/// <item><c>hindsight_reader</c> (store): reads everything in schema <c>hindsight</c>, writes nothing.</item>
/// </list>
/// The store's rows are thereby append-only for every role but its owner (and superusers).
/// </summary>
internal static class StoreRoles
{
    /// <summary>The role the capture worker logs in as.</summary>
    public const string Capture = "hindsight_capture";

    /// <summary>The role that appends to the store.</summary>
    public const string Writer = "hindsight_writer";

    /// <summary>The role that reads the store (queries, dashboard).</summary>
    public const string Reader = "hindsight_reader";

    /// <summary>Checks, before anything changes, that the user may create the roles: only a superuser may give one REPLICATION.</summary>
    /// <exception cref="SetupException">The user is not a superuser.</exception>
    public static void Check(ServerFacts server)
    {
        if (!server.IsSuperuser)
            throw new SetupException(
                $"role {server.User} is not a superuser: --create-roles gives {Capture} the REPLICATION attribute, which needs one. Nothing was changed.");
    }

    /// <summary>Whether the store is served by the source's cluster (roles are per cluster), by system identifier.</summary>
    public static Task<bool> SameClusterAsync(NpgsqlConnection source, NpgsqlDataSource store, CancellationToken ct) =>
        SameAnswerAsync(source, store, "SELECT system_identifier::text FROM pg_control_system()", ct);

    /// <summary>Creates the store roles (when missing) and grants them on the store's objects. Returns what it did, for the report.</summary>
    public static async Task<List<string>> ApplyStoreAsync(NpgsqlDataSource store, CancellationToken ct)
    {
        var done = new List<string>();
        var conn = await store.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var connDisposal = conn.ConfigureAwait(false);
        var tx = await conn.BeginTransactionAsync(ct).ConfigureAwait(false);
        await using var txDisposal = tx.ConfigureAwait(false);
        foreach (var role in new[] { Writer, Reader })
            if (await CreateIfMissingAsync(conn, tx, role, "NOLOGIN", ct).ConfigureAwait(false)) done.Add($"created role {role} (NOLOGIN)");
        // Revoked first, so a re-run converges on exactly these grants, whatever was granted by hand since.
        await ExecAsync(conn, tx,
            $"""
            REVOKE ALL ON ALL TABLES IN SCHEMA hindsight FROM {Writer}, {Reader};
            GRANT USAGE ON SCHEMA hindsight TO {Writer}, {Reader};
            GRANT SELECT ON ALL TABLES IN SCHEMA hindsight TO {Writer}, {Reader};
            GRANT INSERT ON hindsight.changes TO {Writer};
            GRANT INSERT, UPDATE ON hindsight.progress TO {Writer};
            GRANT INSERT, UPDATE (system_identifier) ON hindsight.sources TO {Writer};
            """, ct).ConfigureAwait(false);
        // The worker records at start which columns the images lack (a description of the source, not part of the trail).
        if (await Store.UntrackedColumnStore.ExistsAsync(conn, tx, ct).ConfigureAwait(false))
            await ExecAsync(conn, tx, $"GRANT INSERT, UPDATE, DELETE ON hindsight.untracked_columns TO {Writer}", ct).ConfigureAwait(false);
        if (await Store.StoreMigrations.HasTableAsync(conn, tx, "schema_changes", ct).ConfigureAwait(false))
            await ExecAsync(conn, tx, $"GRANT INSERT ON hindsight.schema_changes TO {Writer}", ct).ConfigureAwait(false);
        // The writer chains what it writes, and records the checkpoints it signs.
        if (await Store.StoreMigrations.HasTableAsync(conn, tx, "chain_blocks", ct).ConfigureAwait(false))
            await ExecAsync(conn, tx, $"GRANT INSERT ON hindsight.chain_blocks, hindsight.chain_nodes, hindsight.checkpoints, hindsight.chain_keys TO {Writer}", ct).ConfigureAwait(false);
        // A partitioned change table takes its ids from a sequence, and the worker makes the next partitions.
        if (await Store.StoreMigrations.HasTableAsync(conn, tx, "change_ids", ct).ConfigureAwait(false))
            await ExecAsync(conn, tx, $"GRANT USAGE ON SEQUENCE hindsight.change_ids TO {Writer}", ct).ConfigureAwait(false);
        await ExecAsync(conn, tx, $"GRANT EXECUTE ON FUNCTION hindsight.maintain_change_partitions(timestamptz[], text) TO {Writer}", ct).ConfigureAwait(false);
        // The worker applies the owner's retention policies, and nothing else: prune_changes itself needs DELETE, which it has not.
        await ExecAsync(conn, tx, $"GRANT EXECUTE ON FUNCTION hindsight.apply_retention() TO {Writer}", ct).ConfigureAwait(false);
        // And it keeps the hourly change counts of trends up to date.
        await ExecAsync(conn, tx, $"GRANT EXECUTE ON FUNCTION hindsight.count_changes() TO {Writer}", ct).ConfigureAwait(false);
        done.Add($"{Writer}: INSERT on hindsight.changes, hindsight.schema_changes and the chain's tables, INSERT and UPDATE on hindsight.progress, INSERT on hindsight.sources (and UPDATE of a carried-over source's system identifier), " +
                 "INSERT, UPDATE and DELETE on hindsight.untracked_columns, SELECT on schema hindsight, " +
                 "EXECUTE of maintain_change_partitions(), apply_retention() and count_changes() (each does only its own job); no UPDATE, DELETE or TRUNCATE of changes");
        done.Add($"{Reader}: SELECT on schema hindsight");
        await tx.CommitAsync(ct).ConfigureAwait(false);
        return done;
    }

    /// <summary>Creates <c>hindsight_capture</c> in the source cluster (when missing), with REPLICATION; makes it a writer when the store shares the cluster.</summary>
    public static async Task<List<string>> ApplyCaptureAsync(NpgsqlConnection source, bool storeInSameCluster, CancellationToken ct)
    {
        var done = new List<string>();
        if (await CreateIfMissingAsync(source, null, Capture, "NOLOGIN REPLICATION", ct).ConfigureAwait(false))
            done.Add($"created role {Capture} (NOLOGIN REPLICATION: ALTER ROLE {Capture} LOGIN PASSWORD '…' to let the worker log in as it)");
        else
            await ExecAsync(source, null, $"ALTER ROLE {Capture} REPLICATION", ct).ConfigureAwait(false);
        if (storeInSameCluster)
        {
            await ExecAsync(source, null, $"GRANT {Writer} TO {Capture}", ct).ConfigureAwait(false);
            done.Add($"{Capture}: REPLICATION, member of {Writer}");
        }
        else
        {
            done.Add($"{Capture}: REPLICATION; the store is in another cluster: log the worker into the store as a member of {Writer} there");
        }
        return done;
    }

    private static async Task<bool> CreateIfMissingAsync(NpgsqlConnection conn, NpgsqlTransaction? tx, string role, string attributes, CancellationToken ct)
    {
        var exists = new NpgsqlCommand("SELECT 1 FROM pg_roles WHERE rolname = $1", conn, tx);
        await using (exists.ConfigureAwait(false))
        {
            exists.Parameters.AddWithValue(role);
            if (await exists.ExecuteScalarAsync(ct).ConfigureAwait(false) is not null) return false;
        }
        try
        {
            await ExecAsync(conn, tx, $"CREATE ROLE {role} {attributes}", ct).ConfigureAwait(false);
            return true;
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.DuplicateObject && tx is null)
        {
            return false; // created meanwhile by a concurrent setup (roles are cluster-wide)
        }
    }
}
