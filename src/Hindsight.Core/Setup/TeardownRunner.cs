using Hindsight.Postgres;
using Hindsight.Store;
using Npgsql;

namespace Hindsight.Setup;

/// <summary>
/// <c>hindsight teardown</c>: drops the slot (so the server no longer keeps WAL for it), the publication and
/// what <c>setup --bemi-compat</c> installed; with <see cref="TeardownOptions.Purge"/> also the stored changes. Idempotent. Refuses while a worker holds
/// the slot, unless <see cref="TeardownOptions.Force"/>, which terminates that worker's walsender.
/// </summary>
/// <remarks>
/// Purging drops the <c>hindsight</c> schema of the store. When the store also holds changes of other
/// databases or slots (a shared <c>--store</c>), only this database's changes and progress are deleted and
/// the schema stays. REPLICA IDENTITY FULL is left on the tables: it is harmless without a publication.
/// </remarks>
public sealed class TeardownRunner(TeardownOptions options)
{
    /// <summary>The options this runner uses.</summary>
    public TeardownOptions Options => options;

    /// <summary>Runs teardown.</summary>
    /// <exception cref="SetupException">The slot is in use (without --force), or belongs to another database.</exception>
    public async Task<TeardownReport> RunAsync(CancellationToken cancellationToken = default)
    {
        var ct = cancellationToken;
        var (sourceCs, storeCs) = options.ToNpgsql();
        SetupNames.ValidateNames(options);

        var source = NpgsqlDataSource.Create(sourceCs);
        await using var sourceDisposal = source.ConfigureAwait(false);
        var conn = await source.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var connDisposal = conn.ConfigureAwait(false);
        var server = await ServerFacts.ReadAsync(conn, ct).ConfigureAwait(false);
        var notes = new List<string>();
        if (options.Purge) await RefuseHeldPurgeAsync(storeCs, source, ct).ConfigureAwait(false);

        // The slot first: once it is gone, no worker can keep reading.
        var terminated = new List<int>();
        var slot = await SlotInfo.ReadAsync(conn, options.Slot, ct).ConfigureAwait(false);
        var slotDropped = false;
        if (slot is not null)
        {
            if (slot.Database is not null && slot.Database != server.Database)
                throw new SetupException(
                    $"the replication slot {options.Slot} belongs to database {PgNames.DisplayPart(slot.Database)}, not {PgNames.DisplayPart(server.Database)}: nothing was dropped");
            if (slot.Active && !options.Force)
                throw new SetupException(
                    $"the replication slot {options.Slot} is in use by a running capture worker (walsender pid {slot.ActivePid}): " +
                    "stop the worker first, or pass --force to terminate it. Nothing was dropped.");
            slotDropped = await DropSlotAsync(conn, terminated, ct).ConfigureAwait(false);
        }

        bool publicationDropped;
        var cmd = new NpgsqlCommand("SELECT 1 FROM pg_publication WHERE pubname = $1", conn);
        await using (cmd.ConfigureAwait(false))
        {
            cmd.Parameters.AddWithValue(options.Publication);
            publicationDropped = await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false) is not null;
        }
        if (publicationDropped)
        {
            var drop = new NpgsqlCommand($"DROP PUBLICATION IF EXISTS {PgNames.Quote(options.Publication)}", conn);
            await using var dropDisposal = drop.ConfigureAwait(false);
            await drop.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }

        // New tables in the publication's schemas need no replica identity from Hindsight any more.
        try
        {
            if (await NewTableIdentity.RemoveAsync(conn, null, options.Publication, ct).ConfigureAwait(false))
                notes.Add($"Tables created from now on in the publication's schemas no longer get REPLICA IDENTITY FULL from Hindsight (event trigger {NewTableIdentity.EventTriggerName(options.Publication)} removed).");
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.InsufficientPrivilege)
        {
            notes.Add($"The event trigger {NewTableIdentity.EventTriggerName(options.Publication)} could not be removed ({e.MessageText}): run teardown again as a superuser.");
        }

        // Schema changes: with the slot gone, nothing reads them.
        try
        {
            if (await SchemaChangeTrigger.RemoveAsync(conn, null, options.Publication, ct).ConfigureAwait(false))
                notes.Add($"Schema changes are no longer recorded (event triggers {SchemaChangeTrigger.EventTriggerName(options.Publication)} removed).");
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.InsufficientPrivilege)
        {
            notes.Add($"The event triggers {SchemaChangeTrigger.EventTriggerName(options.Publication)} could not be removed ({e.MessageText}): run teardown again as a superuser.");
        }

        // Bemi compatibility: without the publication its messages only cost WAL.
        IReadOnlyList<string> bemiTables;
        bool bemiRemoved;
        try
        {
            (bemiTables, bemiRemoved) = await BemiCompat.RemoveAsync(conn, ct).ConfigureAwait(false);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.InsufficientPrivilege)
        {
            throw new SetupException(
                $"the slot and publication are dropped, but the Bemi compatibility triggers could not be removed: {e.MessageText}. " +
                "Run teardown again as a superuser (the event trigger needs one).", e);
        }

        // Who may emit messages: back to PostgreSQL's default, as before setup --trusted-context-roles.
        if (await TrustedContext.EmittersAsync(conn, null, ct).ConfigureAwait(false) is not null)
        {
            if (server.IsSuperuser && await TrustedContext.RestoreAsync(conn, ct).ConfigureAwait(false))
                notes.Add("Every database user may emit logical messages again (setup --trusted-context-roles undone).");
            else if (!server.IsSuperuser)
                notes.Add("Only some roles may still emit logical messages (setup --trusted-context-roles): a superuser can undo it with setup --trusted-context-roles public.");
        }

        var schemaDropped = false;
        long deleted = 0;
        if (options.Purge)
        {
            var store = storeCs is null ? null : NpgsqlDataSource.Create(storeCs);
            await using var storeDisposal = OptionalAsyncDisposable.ConfigureAwait(store, false);
            var storeConn = store is null ? null : await store.OpenConnectionAsync(ct).ConfigureAwait(false);
            await using var storeConnDisposal = OptionalAsyncDisposable.ConfigureAwait(storeConn, false);
            var scope = await ScopeAsync(conn, store ?? source, server.Database, ct).ConfigureAwait(false);
            (schemaDropped, deleted) = await PurgeAsync(storeConn ?? conn, scope, notes, ct).ConfigureAwait(false);
        }
        else
        {
            notes.Add("REPLICA IDENTITY FULL stays on the tables; it is harmless without a publication (ALTER TABLE ... REPLICA IDENTITY DEFAULT to undo).");
            if (slotDropped)
            {
                var store = storeCs is null ? null : NpgsqlDataSource.Create(storeCs);
                await using var storeDisposal = OptionalAsyncDisposable.ConfigureAwait(store, false);
                var storeConn = store is null ? null : await store.OpenConnectionAsync(ct).ConfigureAwait(false);
                await using var storeConnDisposal = OptionalAsyncDisposable.ConfigureAwait(storeConn, false);
                var scope = await ScopeAsync(conn, store ?? source, server.Database, ct).ConfigureAwait(false);
                if (await EndBaselinesAsync(storeConn ?? conn, scope, ct).ConfigureAwait(false) > 0)
                    notes.Add("The baseline (setup --snapshot) is ended: as-of stays complete up to now, not after (changes made from now on are not seen).");
            }
        }

        return new TeardownReport
        {
            Database = server.Database,
            Slot = options.Slot,
            SlotDropped = slotDropped,
            TerminatedPids = terminated,
            Publication = options.Publication,
            PublicationDropped = publicationDropped,
            PurgeRequested = options.Purge,
            StoreSchemaDropped = schemaDropped,
            ChangesDeleted = deleted,
            BemiCompatRemoved = bemiRemoved,
            BemiTriggersRemoved = bemiTables,
            Notes = notes,
        };
    }

    /// <summary>Marks the baselines the dropped slot started at as ended (a store older than migration 5 has none).</summary>
    private async Task<int> EndBaselinesAsync(NpgsqlConnection store, SourceScope scope, CancellationToken ct)
    {
        if (!await StoreMigrations.HasBaselinesAsync(store, null, ct).ConfigureAwait(false)) return 0;
        var cmd = new NpgsqlCommand(
            $"UPDATE hindsight.baselines SET ended_at = clock_timestamp() WHERE {scope.Column} = $1 AND slot = $2 AND ended_at IS NULL", store);
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        cmd.Parameters.AddWithValue(scope.Value);
        cmd.Parameters.AddWithValue(options.Slot);
        return await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    private async Task<bool> DropSlotAsync(NpgsqlConnection conn, List<int> terminated, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + options.ForceTimeout;
        while (true)
        {
            var slot = await SlotInfo.ReadAsync(conn, options.Slot, ct).ConfigureAwait(false);
            if (slot is null) return terminated.Count > 0; // gone meanwhile
            if (slot.Active && slot.ActivePid is { } pid)
            {
                if (!options.Force)
                    throw new SetupException(
                        $"the replication slot {options.Slot} is in use by a running capture worker (walsender pid {pid}): stop the worker first, or pass --force to terminate it");
                var term = new NpgsqlCommand("SELECT pg_terminate_backend($1, 5000)", conn);
                await using var termDisposal = term.ConfigureAwait(false);
                term.Parameters.AddWithValue(pid);
                await term.ExecuteScalarAsync(ct).ConfigureAwait(false);
                if (!terminated.Contains(pid)) terminated.Add(pid);
            }
            try
            {
                var drop = new NpgsqlCommand("SELECT pg_drop_replication_slot($1)", conn);
                await using var dropDisposal = drop.ConfigureAwait(false);
                drop.Parameters.AddWithValue(options.Slot);
                await drop.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                return true;
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UndefinedObject)
            {
                return true; // dropped concurrently
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.ObjectInUse)
            {
                if (!options.Force)
                    throw new SetupException(
                        $"the replication slot {options.Slot} was taken by a capture worker just now: stop the worker first, or pass --force", e);
                if (DateTime.UtcNow > deadline)
                    throw new SetupException(
                        $"the replication slot {options.Slot} is taken again each time its worker is terminated: stop the worker, then run teardown again", e);
                await Task.Delay(200, ct).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Which stored rows are this database's: those of its source (a store with sources), or, in a store set up before
    /// sources existed, those carrying its database name.
    /// </summary>
    private sealed record SourceScope(string Column, string Value, bool HasSources);

    private async Task<SourceScope> ScopeAsync(NpgsqlConnection source, NpgsqlDataSource store, string database, CancellationToken ct)
    {
        var version = await StoreMigrations.CurrentVersionAsync(store, ct).ConfigureAwait(false);
        if (version < StoreMigrations.LatestVersion) return new SourceScope("database", database, false);
        try
        {
            var identity = await SourceIdentity.ReadAsync(source, null, ct).ConfigureAwait(false);
            var name = await SourceRegistry.FindNameAsync(store, identity, options.SourceName, ct).ConfigureAwait(false);
            // A database the store does not know has nothing stored: a name no row carries.
            return new SourceScope("source", name ?? options.SourceName ?? "", true);
        }
        catch (SourceNameException e) { throw new SetupException(e.Message + "; nothing was deleted from the store", e); }
    }

    /// <summary>A purge would delete changes that legal holds keep: refused before anything is dropped.</summary>
    private static async Task RefuseHeldPurgeAsync(string? storeCs, NpgsqlDataSource source, CancellationToken ct)
    {
        var store = storeCs is null ? null : NpgsqlDataSource.Create(storeCs);
        await using var storeDisposal = OptionalAsyncDisposable.ConfigureAwait(store, false);
        var conn = await (store ?? source).OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var connDisposal = conn.ConfigureAwait(false);
        var holds = await Retention.Pruner.ReadHoldsAsync(conn, ct).ConfigureAwait(false);
        if (holds.Count > 0)
            throw new SetupException(
                $"the store has {holds.Count} legal hold(s) (hindsight hold list), and --purge would delete the changes they keep: " +
                "lift them first (hindsight hold remove), or teardown without --purge. Nothing was dropped.");
    }

    private async Task<(bool SchemaDropped, long Deleted)> PurgeAsync(NpgsqlConnection store, SourceScope scope, List<string> notes, CancellationToken ct)
    {
        var exists = new NpgsqlCommand("SELECT to_regnamespace($1) IS NOT NULL", store);
        await using (exists.ConfigureAwait(false))
        {
            exists.Parameters.AddWithValue(StoreMigrations.Schema);
            if (!(bool)(await exists.ExecuteScalarAsync(ct).ConfigureAwait(false))!) return (false, 0);
        }

        var tx = await store.BeginTransactionAsync(ct).ConfigureAwait(false);
        await using var txDisposal = tx.ConfigureAwait(false);
        var others = false;
        {
            var cmd = new NpgsqlCommand(
                $"""
                SELECT (to_regclass('hindsight.progress') IS NOT NULL AND EXISTS (
                            SELECT 1 FROM hindsight.progress WHERE NOT (slot = $1 AND {scope.Column} = $2)))
                """, store, tx);
            await using (cmd.ConfigureAwait(false))
            {
                cmd.Parameters.AddWithValue(options.Slot);
                cmd.Parameters.AddWithValue(scope.Value);
                others = (bool)(await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
            }
        }
        if (!others)
        {
            var cmd = new NpgsqlCommand(
                $"SELECT to_regclass('hindsight.changes') IS NOT NULL AND EXISTS (SELECT 1 FROM hindsight.changes WHERE {scope.Column} <> $1)", store, tx);
            await using var cmdDisposal = cmd.ConfigureAwait(false);
            cmd.Parameters.AddWithValue(scope.Value);
            others = (bool)(await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
        }

        if (!others)
        {
            var drop = new NpgsqlCommand($"DROP SCHEMA {PgNames.Quote(StoreMigrations.Schema)} CASCADE", store, tx);
            await using var dropDisposal = drop.ConfigureAwait(false);
            await drop.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            await tx.CommitAsync(ct).ConfigureAwait(false);
            return (true, 0);
        }

        long deleted;
        {
            var del = new NpgsqlCommand($"DELETE FROM hindsight.changes WHERE {scope.Column} = $1", store, tx);
            await using (del.ConfigureAwait(false))
            {
                del.Parameters.AddWithValue(scope.Value);
                deleted = await del.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            }
        }
        {
            var del = new NpgsqlCommand($"DELETE FROM hindsight.progress WHERE slot = $1 AND {scope.Column} = $2", store, tx);
            await using (del.ConfigureAwait(false))
            {
                del.Parameters.AddWithValue(options.Slot);
                del.Parameters.AddWithValue(scope.Value);
                await del.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            }
        }
        // The baselines go with the database's changes: without its SNAPSHOT rows one would claim rows it no longer shows.
        if (await StoreMigrations.HasBaselinesAsync(store, tx, ct).ConfigureAwait(false))
        {
            var del = new NpgsqlCommand($"DELETE FROM hindsight.baselines WHERE {scope.Column} = $1", store, tx);
            await using var delDisposal = del.ConfigureAwait(false);
            del.Parameters.AddWithValue(scope.Value);
            await del.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
        if (scope.HasSources && await StoreMigrations.HasTableAsync(store, tx, "schema_changes", ct).ConfigureAwait(false))
        {
            var del = new NpgsqlCommand("DELETE FROM hindsight.schema_changes WHERE source = $1", store, tx);
            await using var delDisposal = del.ConfigureAwait(false);
            del.Parameters.AddWithValue(scope.Value);
            await del.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
        // Its chain goes with its changes: a new one starts at block 0 if it is set up again. Checkpoint files kept elsewhere
        // still name the chain that was purged, and verification says it was removed.
        if (scope.HasSources && await StoreMigrations.HasTableAsync(store, tx, "chain_blocks", ct).ConfigureAwait(false))
        {
            var del = new NpgsqlCommand(
                """
                WITH nodes AS (DELETE FROM hindsight.chain_nodes WHERE source = $1), checkpoints AS (DELETE FROM hindsight.checkpoints WHERE source = $1)
                DELETE FROM hindsight.chain_blocks WHERE source = $1
                """, store, tx);
            await using var delDisposal = del.ConfigureAwait(false);
            del.Parameters.AddWithValue(scope.Value);
            await del.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
        // Its name is free again once nothing in the store carries it (another slot of the same source keeps it).
        if (scope.HasSources)
        {
            var del = new NpgsqlCommand(
                "DELETE FROM hindsight.sources s WHERE s.name = $1 AND NOT EXISTS (SELECT 1 FROM hindsight.progress p WHERE p.source = s.name)", store, tx);
            await using var delDisposal = del.ConfigureAwait(false);
            del.Parameters.AddWithValue(scope.Value);
            await del.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
        if (scope.HasSources && await UntrackedColumnStore.ExistsAsync(store, tx, ct).ConfigureAwait(false))
        {
            var del = new NpgsqlCommand("DELETE FROM hindsight.untracked_columns WHERE source = $1", store, tx);
            await using var delDisposal = del.ConfigureAwait(false);
            del.Parameters.AddWithValue(scope.Value);
            await del.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
        await tx.CommitAsync(ct).ConfigureAwait(false);
        notes.Add("The store also holds changes of other sources or slots, so schema hindsight was kept and only this source's changes were deleted.");
        return (false, deleted);
    }
}
