using System.Text;
using Hindsight.Configuration;
using Hindsight.Model;
using Hindsight.Postgres;
using Hindsight.Store;
using Npgsql;
using static Hindsight.Setup.SetupSql;

namespace Hindsight.Setup;

/// <summary>
/// <c>hindsight setup</c>: store migrations, the publication (never including the store's schema),
/// REPLICA IDENTITY FULL on the tracked tables, and the logical replication slot. Idempotent: a second
/// run changes nothing and reports what is there.
/// </summary>
/// <remarks>
/// Everything that can be checked without changing anything (server version, <c>wal_level</c>, the
/// slot, every named table and schema) is checked first, so bad input changes nothing. The publication
/// and the replica identities change in one source transaction; the slot is created last, after the
/// publication exists (a slot created first could not decode the WAL written before the publication).
/// </remarks>
public sealed class SetupRunner(SetupOptions options)
{
    /// <summary>The options this runner uses.</summary>
    public SetupOptions Options => options;

    /// <summary>Runs setup.</summary>
    /// <exception cref="SetupException">Bad input, or a database state setup refuses to work with.</exception>
    /// <exception cref="ConnectionStringException">A connection string could not be understood.</exception>
    public async Task<SetupReport> RunAsync(CancellationToken cancellationToken = default)
    {
        var ct = cancellationToken;
        var (sourceCs, storeCs) = options.ToNpgsql();
        SetupNames.ValidateNames(options);
        var patterns = TableSelection.Patterns.Of(options);

        var source = NpgsqlDataSource.Create(sourceCs);
        await using var sourceDisposal = source.ConfigureAwait(false);
        var conn = await source.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var connDisposal = conn.ConfigureAwait(false);

        // 1. Facts and checks that change nothing.
        var server = await ServerFacts.ReadAsync(conn, ct).ConfigureAwait(false);
        if (server.VersionNum < 140000)
            throw new SetupException(
                $"PostgreSQL {server.Version} is too old: hindsight needs PostgreSQL 14 or newer (pgoutput messages and streaming)");
        if (!string.Equals(server.WalLevel, "logical", StringComparison.Ordinal))
            throw new SetupException(
                $"wal_level is '{server.WalLevel}', but logical replication needs wal_level = logical. " +
                "Run ALTER SYSTEM SET wal_level = logical; then restart PostgreSQL, and run setup again.");

        var slot = await SlotInfo.ReadAsync(conn, options.Slot, ct).ConfigureAwait(false);
        if (slot is not null)
        {
            if (slot.SlotType != "logical" || slot.Plugin != "pgoutput")
                throw new SetupException(
                    $"a replication slot named {options.Slot} exists but is not a logical pgoutput slot ({slot.SlotType}, {slot.Plugin ?? "no plugin"}); choose another --slot or drop it");
            if (slot.Database != server.Database)
                throw new SetupException(
                    $"the replication slot {options.Slot} belongs to database {PgNames.DisplayPart(slot.Database ?? "?")}, not {PgNames.DisplayPart(server.Database)}; choose another --slot");
        }
        else
        {
            if (server.MaxReplicationSlots == 0)
                throw new SetupException("max_replication_slots is 0: set it to at least 1 (needs a restart of PostgreSQL)");
            if (server.UsedReplicationSlots >= server.MaxReplicationSlots)
                throw new SetupException(
                    $"all {server.MaxReplicationSlots} replication slots are in use (max_replication_slots): drop an unused slot or raise the setting");
            if (!server.IsSuperuser && !server.HasReplication)
                throw new SetupException(
                    $"role {server.User} may not create replication slots: it needs the REPLICATION attribute (ALTER ROLE {PgNames.Quote(server.User)} REPLICATION)");
        }

        var catalog = new SetupCatalog(conn);
        var selection = await TableSelection.ResolveAsync(catalog, server, patterns, ct).ConfigureAwait(false);

        if (selection.Schemas.Count > 0 && !server.IsSuperuser)
            throw new SetupException(
                $"role {server.User} is not a superuser, and publishing whole schemas (FOR TABLES IN SCHEMA) needs one: " +
                "list the tables with --tables (owning them is enough), or run setup as a superuser. Nothing was changed.");

        if (options.BemiCompat)
            await BemiCompat.CheckAsync(conn, selection.Tracked.Select(t => t.Oid), server, ct).ConfigureAwait(false);
        if (options.CreateRoles) StoreRoles.Check(server);
        await TrustedContext.CheckAsync(conn, options.TrustedContextRoles, server, ct).ConfigureAwait(false);

        if (options.Snapshot || options.IgnoreColumns.Count > 0 || options.RedactColumns.Count > 0)
        {
            if (!options.Snapshot)
                throw new SetupException("--ignore-columns and --redact-columns apply to setup only with --snapshot (the baseline's images); give them to run");
            try { _ = new Stitch.ColumnRules(options.IgnoreColumns, options.RedactColumns); } // bad patterns fail before anything changes
            catch (ArgumentException e) { throw new SetupException(e.Message, e); }
        }

        // 2. The store.
        var storeInSource = storeCs is null;
        IReadOnlyList<int> applied;
        int versionBefore, versionAfter;
        var store = storeCs is null ? null : NpgsqlDataSource.Create(storeCs);
        await using var storeDisposal = OptionalAsyncDisposable.ConfigureAwait(store, false);
        var storeSource = store ?? source;
        BaselineReport? baseline = null;
        versionBefore = await StoreMigrations.CurrentVersionAsync(storeSource, ct).ConfigureAwait(false);
        if (versionBefore > StoreMigrations.LatestVersion)
            throw new SetupException(
                $"the store is at schema version {versionBefore}, newer than this hindsight knows ({StoreMigrations.LatestVersion}): upgrade hindsight");
        applied = await StoreMigrations.ApplyAsync(storeSource, ct).ConfigureAwait(false);
        if (options.IndexImages) await StoreMigrations.EnsureImageIndexesAsync(storeSource, ct).ConfigureAwait(false);
        versionAfter = await StoreMigrations.CurrentVersionAsync(storeSource, ct).ConfigureAwait(false);
        var (partitioning, partitionedChanges, partitioningTook) = await PartitionStoreAsync(storeSource, ct).ConfigureAwait(false);

        // 2a. The source's name in the store: refused here, before anything in the source changes, when it is taken.
        string sourceName;
        try
        {
            var identity = await SourceIdentity.ReadAsync(conn, sourceCs, ct).ConfigureAwait(false);
            sourceName = await SourceRegistry.RegisterAsync(storeSource, identity, options.SourceName, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SourceNameException or ArgumentException) { throw new SetupException(e.Message, e); }

        if (options.Snapshot && slot is not null)
        {
            // A slot's snapshot exists only at its creation: a baseline cannot be added to a slot that is already there.
            baseline = await BaselineReport.ReadAsync(storeSource, sourceName, options.Slot, ct).ConfigureAwait(false)
                ?? throw new SetupException(
                    $"the slot {options.Slot} already exists and no baseline was stored with it: a baseline must be read in the snapshot " +
                    "the slot exports when it is created. Run `hindsight teardown` (stored changes are kept) and then `setup --snapshot` again; " +
                    "changes made between the two are not captured. Nothing was changed in the source.");
        }
        if (store is not null)
            storeInSource = await SameDatabaseAsync(conn, store, ct).ConfigureAwait(false);

        // 2b. Least-privilege roles, before the context restriction (which trusts hindsight_capture when it exists).
        var roles = new List<string>();
        if (options.CreateRoles)
        {
            roles.AddRange(await StoreRoles.ApplyStoreAsync(storeSource, ct).ConfigureAwait(false));
            var sameCluster = store is null || await StoreRoles.SameClusterAsync(conn, store, ct).ConfigureAwait(false);
            roles.AddRange(await StoreRoles.ApplyCaptureAsync(conn, sameCluster, ct).ConfigureAwait(false));
        }

        // 3. Publication, replica identity and who may emit context, in one source transaction.
        var notes = new List<string>();
        IReadOnlyList<string>? emitters = null;
        PublicationAction action;
        var changedIdentity = new List<string>();
        var newTablesGetIdentity = false;
        var schemaChangesCaptured = false;
        var tx = await conn.BeginTransactionAsync(ct).ConfigureAwait(false);
        await using (tx.ConfigureAwait(false))
        {
            await SetLockTimeoutAsync(conn, tx, options.LockTimeout, ct).ConfigureAwait(false);
            try
            {
                action = await ApplyPublicationAsync(conn, tx, server, selection, notes, ct).ConfigureAwait(false);
                await ApplyReplicaIdentityAsync(conn, tx, catalog, selection, changedIdentity, notes, ct).ConfigureAwait(false);
                // Tables created later in a published schema join the publication on their own: an event trigger gives
                // them their replica identity in the statement that creates them. Only a superuser may create one.
                if (server.IsSuperuser && selection.Schemas.Count > 0)
                {
                    await NewTableIdentity.InstallAsync(conn, tx, options.Publication, options.ReplicaIdentity == ReplicaIdentityMode.Full, ct)
                        .ConfigureAwait(false);
                    newTablesGetIdentity = true;
                }
                else if (server.IsSuperuser)
                    await NewTableIdentity.RemoveAsync(conn, tx, options.Publication, ct).ConfigureAwait(false);
                // Schema changes of tracked tables go into the WAL with the row changes (an event trigger: superuser only).
                if (server.IsSuperuser)
                {
                    await SchemaChangeTrigger.InstallAsync(conn, tx, options.Publication, ct).ConfigureAwait(false);
                    schemaChangesCaptured = true;
                }
                emitters = options.TrustedContextRoles.Count > 0
                    ? await TrustedContext.ApplyAsync(conn, tx, options.TrustedContextRoles, ct).ConfigureAwait(false)
                    : await TrustedContext.EmittersAsync(conn, tx, ct).ConfigureAwait(false);
                await tx.CommitAsync(ct).ConfigureAwait(false);
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.LockNotAvailable)
            {
                throw new SetupException(
                    $"a table or the publication stayed locked by another session for {options.LockTimeout.TotalSeconds:0} s; the publication and replica identities were left unchanged. Try again when it is free.", e);
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.InsufficientPrivilege)
            {
                var hint = selection.Schemas.Count > 0
                    ? " Publishing whole schemas (FOR TABLES IN SCHEMA) needs a superuser; with --tables a table owner is enough."
                    : " Setting REPLICA IDENTITY and publishing a table need its owner.";
                throw new SetupException($"permission denied: {e.MessageText}. The publication and replica identities were left unchanged.{hint}", e);
            }
        }

        // 3b. Bemi compatibility, once the publication says which tables are tracked.
        BemiCompatReport? bemi = null;
        if (options.BemiCompat) bemi = await InstallBemiCompatAsync(conn, server, selection, notes, ct).ConfigureAwait(false);

        // 4. The slot, after the publication exists.
        var slotCreated = false;
        string? slotPosition = slot?.ConfirmedFlushLsn;
        if (slot is null && options.Snapshot)
        {
            baseline = await BaselineSnapshot.CreateSlotAndCopyAsync(sourceCs, source, storeSource, options, sourceName, server.Database, ct).ConfigureAwait(false);
            slotPosition = baseline.Lsn;
            slotCreated = true;
        }
        else if (slot is null)
        {
            try
            {
                var cmd = new NpgsqlCommand("SELECT lsn::text FROM pg_create_logical_replication_slot($1, 'pgoutput')", conn);
                await using var cmdDisposal = cmd.ConfigureAwait(false);
                cmd.Parameters.AddWithValue(options.Slot);
                slotPosition = (string?)await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false);
                slotCreated = true;
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.DuplicateObject)
            {
                // Created concurrently by another setup: fine, as long as it is ours in kind.
                slotPosition = (await SlotInfo.ReadAsync(conn, options.Slot, ct).ConfigureAwait(false))?.ConfirmedFlushLsn;
            }
            catch (PostgresException e)
            {
                throw new SetupException(
                    $"the publication and store are ready, but the slot {options.Slot} could not be created: {e.MessageText}" +
                    (e.Hint is null ? "" : $" ({e.Hint})"), e);
            }
        }

        // 4b. The columns every tracked table has now, through the slot: what later schema changes are read against.
        var described = await SchemaChangeTrigger.EmitSnapshotAsync(conn, options.Publication, ct).ConfigureAwait(false);

        // 5. Report what PostgreSQL now says.
        var tables = await ReadTrackedTablesAsync(conn, options.Publication, ct).ConfigureAwait(false);
        AddNotes(notes, selection, tables, server, newTablesGetIdentity);
        // Which published columns the images will lack, recorded where as-of (which reads only the store) finds it.
        var untracked = await UntrackedColumnStore.RecordAsync(conn, storeSource, sourceName, options.Publication, ct).ConfigureAwait(false);
        if (untracked.Count > 0) notes.Add(UntrackedNote(untracked, server));
        notes.Add(schemaChangesCaptured
            ? $"Schema changes of tracked tables (CREATE, ALTER and DROP TABLE) are recorded with their statement and context by the event trigger {SchemaChangeTrigger.EventTriggerName(options.Publication)}; the columns of {described} table(s) were recorded as they are now."
            : $"Role {server.User} is not a superuser, so setup could not create the event trigger that records schema changes: the columns of {described} table(s) were recorded as they are now, " +
              "and the worker will read later changes of their columns from what pgoutput sends, without the statement or who made it, at each table's next row change. Run setup as a superuser to record them as they happen.");

        return new SetupReport
        {
            Database = server.Database,
            Source = sourceName,
            ServerVersion = server.Version,
            Store = storeCs is null ? "source database" : ConnectionStrings.Describe(storeCs),
            StoreInSource = storeInSource,
            StoreVersionBefore = versionBefore,
            StoreVersion = versionAfter,
            MigrationsApplied = applied,
            Partitioning = partitioning,
            PartitionedChanges = partitionedChanges,
            PartitioningTook = partitioningTook,
            Publication = options.Publication,
            PublicationAction = action,
            PublishedSchemas = selection.Schemas.Select(s => s.Name).ToList(),
            ExplicitTableList = selection.Schemas.Count == 0,
            Tables = tables,
            ReplicaIdentityMode = options.ReplicaIdentity,
            ReplicaIdentityChanged = changedIdentity,
            NewTablesGetReplicaIdentity = newTablesGetIdentity,
            SchemaChangesCaptured = schemaChangesCaptured,
            Slot = options.Slot,
            SlotCreated = slotCreated,
            SlotPosition = slotPosition,
            BemiCompat = bemi,
            Baseline = baseline,
            Roles = roles,
            ContextEmitters = emitters,
            UntrackedColumns = untracked,
            Notes = notes,
        };
    }

    private async Task<BemiCompatReport> InstallBemiCompatAsync(NpgsqlConnection conn, ServerFacts server, TableSelection selection,
        List<string> notes, CancellationToken ct)
    {
        var tx = await conn.BeginTransactionAsync(ct).ConfigureAwait(false);
        await using var txDisposal = tx.ConfigureAwait(false);
        await SetLockTimeoutAsync(conn, tx, options.LockTimeout, ct).ConfigureAwait(false);
        try
        {
            var report = await BemiCompat.InstallAsync(conn, tx, selection.Tracked.Select(t => t.Oid), server, notes, ct).ConfigureAwait(false);
            await tx.CommitAsync(ct).ConfigureAwait(false);
            return report;
        }
        catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.LockNotAvailable or PostgresErrorCodes.InsufficientPrivilege)
        {
            throw new SetupException(
                $"--bemi-compat: {e.MessageText}. The publication is in place; the Bemi triggers were left as they were. Run setup again" +
                (e.SqlState == PostgresErrorCodes.LockNotAvailable ? " when the tables are not locked by another session." : " as a role that may create them."), e);
        }
    }

    // ---- publication --------------------------------------------------------------------

    private async Task<PublicationAction> ApplyPublicationAsync(NpgsqlConnection conn, NpgsqlTransaction tx, ServerFacts server,
        TableSelection sel, List<string> notes, CancellationToken ct)
    {
        var pub = PgNames.Quote(options.Publication);
        // From PostgreSQL 18 a publication can send stored generated columns; without it the images lack them.
        var publishGenerated = server.VersionNum >= Postgres.PgFeatures.PublishGeneratedColumnsSince;
        var settings = "publish = 'insert, update, delete, truncate', publish_via_partition_root = true" +
                       (publishGenerated ? ", publish_generated_columns = stored" : "");
        var with = $"WITH ({settings})";
        var objects = new List<string>();
        if (sel.Tables.Count > 0) objects.Add("TABLE " + string.Join(", ", sel.Tables.Select(t => PgNames.Quote(t.Schema, t.Name))));
        if (sel.Schemas.Count > 0) objects.Add("TABLES IN SCHEMA " + string.Join(", ", sel.Schemas.Select(s => PgNames.Quote(s.Name))));
        var objectSql = string.Join(", ", objects);
        var create = objects.Count == 0 ? $"CREATE PUBLICATION {pub} {with}" : $"CREATE PUBLICATION {pub} FOR {objectSql} {with}";

        PublicationState? current = await PublicationState.ReadAsync(conn, tx, options.Publication, server.VersionNum, ct).ConfigureAwait(false);
        if (current is null)
        {
            await ExecAsync(conn, tx, create, ct).ConfigureAwait(false);
            return PublicationAction.Created;
        }

        var wantTables = sel.Tables.Select(t => t.Oid).ToHashSet();
        var wantSchemas = sel.Schemas.Select(s => s.Oid).ToHashSet();
        var membersSame = !current.AllTables && !current.Filtered &&
                          current.Tables.SetEquals(wantTables) && current.Schemas.SetEquals(wantSchemas);
        var optionsSame = current.PublishesAll && current.ViaRoot && (current.GeneratedStored || !publishGenerated);
        if (membersSame && optionsSame) return PublicationAction.Unchanged;

        if (current.AllTables || objects.Count == 0)
        {
            if (current.AllTables)
                notes.Add($"The publication {PgNames.DisplayPart(options.Publication)} was FOR ALL TABLES, which would also publish the store's own table; it was replaced (in one transaction).");
            await ExecAsync(conn, tx, $"DROP PUBLICATION {pub}", ct).ConfigureAwait(false);
            await ExecAsync(conn, tx, create, ct).ConfigureAwait(false);
            return PublicationAction.Recreated;
        }
        if (!membersSame) await ExecAsync(conn, tx, $"ALTER PUBLICATION {pub} SET {objectSql}", ct).ConfigureAwait(false);
        if (!optionsSame)
            await ExecAsync(conn, tx, $"ALTER PUBLICATION {pub} SET ({settings})", ct).ConfigureAwait(false);
        return PublicationAction.Updated;
    }

    // ---- replica identity ---------------------------------------------------------------

    private async Task ApplyReplicaIdentityAsync(NpgsqlConnection conn, NpgsqlTransaction tx, SetupCatalog catalog, TableSelection sel,
        List<string> changed, List<string> notes, CancellationToken ct)
    {
        var forced = new List<string>();
        foreach (var root in sel.Tracked)
        {
            var members = root.Kind == 'p' ? await catalog.PartitionTreeAsync(root.Oid, tx, ct).ConfigureAwait(false) : [root];
            foreach (var rel in members)
            {
                if (rel.Kind is not ('r' or 'p') || rel.ReplicaIdentity == 'f') continue;
                bool set;
                if (options.ReplicaIdentity == ReplicaIdentityMode.Full) set = true;
                else
                {
                    // Published without a usable identity, UPDATE and DELETE on the table would fail.
                    set = rel.ReplicaIdentity == 'n' || (rel.ReplicaIdentity == 'd' && !rel.HasPrimaryKey && rel.Kind == 'r');
                    if (set) forced.Add(rel.Display);
                }
                if (!set) continue;
                await ExecAsync(conn, tx, $"ALTER TABLE ONLY {PgNames.Quote(rel.Schema, rel.Name)} REPLICA IDENTITY FULL", ct).ConfigureAwait(false);
                changed.Add(rel.Display);
            }
        }
        if (forced.Count > 0)
            notes.Add("REPLICA IDENTITY FULL was set on tables without a primary key (or with identity NOTHING), because once published, " +
                      "UPDATE and DELETE on them would fail: " + string.Join(", ", forced));
    }

    // ---- report -------------------------------------------------------------------------

    internal static async Task<IReadOnlyList<TrackedTable>> ReadTrackedTablesAsync(NpgsqlConnection conn, string publication, CancellationToken ct)
    {
        var cmd = new NpgsqlCommand(
            """
            SELECT pt.schemaname::text, pt.tablename::text, c.relkind = 'p',
                   (SELECT count(*) FROM pg_partition_tree(c.oid) t WHERE t.isleaf AND t.relid <> c.oid)::int,
                   c.relreplident::text,
                   EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary)
            FROM pg_publication_tables pt
            JOIN pg_namespace n ON n.nspname = pt.schemaname
            JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = pt.tablename
            WHERE pt.pubname = $1
            ORDER BY 1, 2
            """, conn);
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        cmd.Parameters.AddWithValue(publication);
        var list = new List<TrackedTable>();
        var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        await using var rDisposal = r.ConfigureAwait(false);
        while (await r.ReadAsync(ct).ConfigureAwait(false))
            list.Add(new TrackedTable(r.GetString(0), r.GetString(1), r.GetBoolean(2), r.GetInt32(3),
                IdentityName(r.GetString(4)[0]), r.GetBoolean(5)));
        return list;
    }

    internal static string IdentityName(char c) => c switch
    {
        'f' => "full",
        'd' => "default",
        'i' => "index",
        'n' => "nothing",
        _ => c.ToString(),
    };

    private void AddNotes(List<string> notes, TableSelection sel, IReadOnlyList<TrackedTable> tables, ServerFacts server, bool newTablesGetIdentity)
    {
        if (sel.Schemas.Count > 0 && newTablesGetIdentity)
            notes.Add("Tables created later in the published schemas are tracked automatically, and the event trigger " +
                      $"{NewTableIdentity.EventTriggerName(options.Publication)} gives them " +
                      (options.ReplicaIdentity == ReplicaIdentityMode.Full ? "REPLICA IDENTITY FULL" : "REPLICA IDENTITY FULL where they have no primary key") +
                      " as they are created. A table attached later with ALTER TABLE ... ATTACH PARTITION is not covered: run setup again after attaching one. " +
                      "Schemas created later are not followed.");
        else if (sel.Schemas.Count > 0)
            notes.Add("Tables created later in the published schemas are tracked automatically, but start with REPLICA IDENTITY DEFAULT: " +
                      "run setup again after creating tables or partitions (a new table without a primary key rejects UPDATE and DELETE until then). " +
                      $"Role {server.User} is not a superuser, so setup could not create the event trigger that would do this at once. " +
                      "Schemas created later are not followed.");
        else if (sel.ExcludesGiven)
            notes.Add("With --exclude-tables the publication lists tables one by one: tables created later are NOT tracked. Run setup again after creating tables.");
        else if (sel.FellBackToList)
            notes.Add($"PostgreSQL {server.Version} has no FOR TABLES IN SCHEMA (added in 15): tables are listed one by one and tables created later are NOT tracked. Run setup again after creating tables.");
        else
            notes.Add("Only the listed tables are tracked; tables created later are not. Run setup again with the new list to change it.");

        if (options.ReplicaIdentity == ReplicaIdentityMode.Default)
        {
            var partial = tables.Where(t => t.ReplicaIdentity != "full").Select(t => t.QualifiedName).ToList();
            var sb = new StringBuilder();
            sb.Append("Replica identity was left as it was (--replica-identity default). ");
            if (partial.Count == 0) sb.Append("Every tracked table has REPLICA IDENTITY FULL already, so no before-image is lost.");
            else
            {
                sb.Append("For tables without REPLICA IDENTITY FULL these before-images are lost:\n");
                sb.Append("UPDATE: no before-image is sent unless a key column changes, and then only the key columns;\n");
                sb.Append("DELETE: the before-image has only the key columns;\n");
                sb.Append("unchanged large (TOASTed) values are not sent: they come from the last stored image of the row, or are marked unknown.\n");
                sb.Append("Affected: ").Append(string.Join(", ", partial));
            }
            notes.Add(sb.ToString());
        }

        if (sel.Unlogged.Count > 0)
            notes.Add("Unlogged tables are not written to the WAL, so their changes cannot be captured: " + string.Join(", ", sel.Unlogged));

        var noKey = tables.Where(t => !t.HasPrimaryKey).Select(t => t.QualifiedName).ToList();
        if (noKey.Count > 0)
            notes.Add("Tables without a primary key are stored with primary_key = null (no per-row history): " + string.Join(", ", noKey));
    }

    /// <summary>The note naming the generated columns the images will lack, and why.</summary>
    internal static string UntrackedNote(IReadOnlyList<UntrackedColumn> untracked, ServerFacts server)
    {
        var why = server.VersionNum >= Postgres.PgFeatures.PublishGeneratedColumnsSince
            ? "PostgreSQL never publishes virtual generated columns"
            : $"PostgreSQL {server.Version} does not publish generated columns to logical replication (18 can publish stored ones: setup on 18 turns that on)";
        return $"Generated columns are not in the stored images ({why}); as-of marks them as not tracked, and revert never writes them:\n" +
               string.Join("\n", UntrackedColumn.Describe(untracked));
    }

    /// <summary>
    /// Partitions the store's change table when it is new (empty: instant), or when <see cref="SetupOptions.Partition"/> asks
    /// for it on a store that holds changes (a copy, online); otherwise makes the partitions due. A store that holds changes
    /// is never partitioned unasked: the copy takes time and twice the space while it runs.
    /// </summary>
    private async Task<(StorePartitioning, long?, TimeSpan?)> PartitionStoreAsync(NpgsqlDataSource store, CancellationToken ct)
    {
        var conn = await store.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var connDisposal = conn.ConfigureAwait(false);
        if (options.Partition is { } period) await ChangePartitions.SetPeriodAsync(conn, period, ct).ConfigureAwait(false);
        var (partitioned, hasChanges) = await ChangePartitions.ReadStateAsync(conn, ct).ConfigureAwait(false);
        long? copied = null;
        TimeSpan? took = null;
        if (!partitioned && (!hasChanges || options.Partition is not null))
        {
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            var n = await ChangePartitions.PartitionStoreAsync(store, options.PartitionProgress, ct).ConfigureAwait(false);
            if (hasChanges) (copied, took) = (n, System.Diagnostics.Stopwatch.GetElapsedTime(started)); // a new, empty store is not reported as copied
        }
        else if (partitioned)
            await ChangePartitions.MaintainAsync(store, ct).ConfigureAwait(false);
        return (await ChangePartitions.DescribeAsync(conn, null, ct).ConfigureAwait(false), copied, took);
    }

    /// <summary>Whether the store is the source database: both report the same cluster and database.</summary>
    private static Task<bool> SameDatabaseAsync(NpgsqlConnection source, NpgsqlDataSource store, CancellationToken ct) =>
        SameAnswerAsync(source, store, "SELECT (SELECT system_identifier FROM pg_control_system())::text || '/' || current_database()", ct);
}
