using System.Globalization;
using Hindsight.Configuration;
using Hindsight.Model;
using Hindsight.Postgres;
using Hindsight.Setup;
using Hindsight.Store;
using Npgsql;

namespace Hindsight.Status;

/// <summary>
/// Reads the state of an installation for <c>hindsight status</c>: the slot (<c>pg_replication_slots</c>), the
/// lag, the store's progress row (<c>hindsight.progress</c>, keyed by slot and source database name) and the
/// store's schema version, and judges health.
/// </summary>
public sealed class StatusReader(StatusOptions options)
{
    /// <summary>The options this reader uses.</summary>
    public StatusOptions Options => options;

    /// <summary>Reads the status. Problems of the installation are reported, not thrown.</summary>
    /// <exception cref="NpgsqlException">The source database cannot be reached.</exception>
    public async Task<StatusReport> ReadAsync(CancellationToken cancellationToken = default)
    {
        var ct = cancellationToken;
        var (sourceCs, storeCs) = options.ToNpgsql();
        var problems = new List<string>();
        var warnings = new List<string>();

        var source = NpgsqlDataSource.Create(sourceCs);
        await using var sourceDisposal = source.ConfigureAwait(false);
        var conn = await source.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var connDisposal = conn.ConfigureAwait(false);
        var server = await ServerFacts.ReadAsync(conn, ct).ConfigureAwait(false);

        var slot = await SlotInfo.ReadAsync(conn, options.Slot, ct).ConfigureAwait(false);
        string? currentLsn;
        {
            var cmd = new NpgsqlCommand("SELECT CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_wal_lsn()::text END", conn);
            await using (cmd.ConfigureAwait(false))
                currentLsn = await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false) as string;
        }

        var slotOk = slot is not null;
        if (slot is null)
            problems.Add($"the replication slot {options.Slot} does not exist: run hindsight setup");
        else if (slot.Database != server.Database || slot.Plugin != "pgoutput")
        {
            slotOk = false;
            problems.Add($"the replication slot {options.Slot} is not a pgoutput slot of database {server.Database}");
        }
        // A lost slot is worded below, once the store has said what it holds.
        var slotLost = slotOk && slot!.WalStatus == "lost";
        if (slotOk && slot!.WalStatus == "unreserved")
            warnings.Add($"the replication slot {options.Slot} is about to lose WAL (wal_status unreserved, max_slot_wal_keep_size): the worker must catch up now");
        if (slotOk && !slotLost && !slot!.Active)
            warnings.Add("no worker is reading the slot (hindsight run is not running); the server keeps WAL for it meanwhile");

        bool publicationExists;
        int publishedTables;
        {
            var cmd = new NpgsqlCommand(
                "SELECT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = $1), (SELECT count(*) FROM pg_publication_tables WHERE pubname = $1)::int", conn);
            await using (cmd.ConfigureAwait(false))
            {
                cmd.Parameters.AddWithValue(options.Publication);
                var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
                await using var rDisposal = r.ConfigureAwait(false);
                await r.ReadAsync(ct).ConfigureAwait(false);
                publicationExists = r.GetBoolean(0);
                publishedTables = r.GetInt32(1);
            }
        }
        if (!publicationExists)
            problems.Add($"the publication {PgNames.DisplayPart(options.Publication)} does not exist: run hindsight setup");
        // Generated columns the server does not publish: images lack them (worth knowing, not unhealthy).
        var untracked = publicationExists ? await UntrackedColumnStore.ReadSourceAsync(conn, null, options.Publication, ct).ConfigureAwait(false) : [];
        if (untracked.Count > 0)
            warnings.Add("generated columns are not in the stored images (not published by PostgreSQL " + server.Version +
                         "; as-of marks them as not tracked): " + string.Join("; ", UntrackedColumn.Describe(untracked)));

        // The store: schema version and progress row.
        var storeVersion = 0;
        var storeRead = false;
        Progress? progress = null;
        double? storeAgeSeconds = null;
        string? sourceName = null;
        IReadOnlyList<string> storeSources = [];
        StorePartitioning? partitioning = null;
        IReadOnlyList<Retention.LegalHold> holds = [];
        try
        {
            var store = storeCs is null ? null : NpgsqlDataSource.Create(storeCs);
            await using var storeDisposal = OptionalAsyncDisposable.ConfigureAwait(store, false);
            var storeSource = store ?? source;
            storeVersion = await StoreMigrations.CurrentVersionAsync(storeSource, ct).ConfigureAwait(false);
            if (storeVersion >= StoreMigrations.LatestVersion)
            {
                storeSources = (await SourceRegistry.ListAsync(storeSource, ct).ConfigureAwait(false)).Select(s => s.Name).ToList();
                try
                {
                    var identity = await SourceIdentity.ReadAsync(conn, null, ct).ConfigureAwait(false);
                    sourceName = await SourceRegistry.FindNameAsync(storeSource, identity, options.SourceName, ct).ConfigureAwait(false);
                    if (sourceName is null)
                        problems.Add(options.SourceName is null
                            ? "this database is not a source of the store yet: run hindsight setup (and hindsight run)"
                            : $"the store has no source named {options.SourceName}: run hindsight setup --source-name {options.SourceName}");
                }
                catch (SourceNameException e) { problems.Add(e.Message); }
                if (sourceName is not null)
                    (progress, storeAgeSeconds) = await ReadProgressAsync(storeSource, sourceName, ct).ConfigureAwait(false);
                var storeConn = await storeSource.OpenConnectionAsync(ct).ConfigureAwait(false);
                await using (storeConn.ConfigureAwait(false))
                {
                    partitioning = await ChangePartitions.DescribeAsync(storeConn, null, ct).ConfigureAwait(false);
                    holds = await Retention.Pruner.ReadHoldsAsync(storeConn, ct).ConfigureAwait(false);
                }
                if (partitioning.DefaultPartitionChanges > 0)
                    warnings.Add(string.Create(CultureInfo.InvariantCulture,
                        $"{partitioning.DefaultPartitionChanges} change(s) are in the default partition (commit times outside every partition); a running worker moves them within 10 minutes"));
            }
            storeRead = true;
        }
        catch (NpgsqlException e) when (storeCs is not null)
        {
            problems.Add("the store cannot be read: " + ConnectionStrings.Scrub(e.Message, storeCs, sourceCs));
        }
        // A store that could not be read is reported above: whether it is set up is not known.
        if (storeRead && storeVersion == 0)
            problems.Add("the store is not set up (no hindsight schema): run hindsight setup");
        else if (storeVersion > 0 && storeVersion < StoreMigrations.LatestVersion)
            problems.Add($"the store is at schema version {storeVersion}, this hindsight needs {StoreMigrations.LatestVersion}: run hindsight setup");
        else if (storeVersion > StoreMigrations.LatestVersion)
            warnings.Add($"the store is at schema version {storeVersion}, newer than this hindsight knows ({StoreMigrations.LatestVersion})");

        if (slotLost) problems.Insert(0, LostSlotProblem(progress));

        // Lag.
        long? lagBytes = slotOk ? slot!.LagBytes : null;
        double? lagSeconds = null;
        if (lagBytes is not null)
            lagSeconds = lagBytes == 0 ? 0 : storeAgeSeconds;
        if (lagBytes > options.MaxLagBytes)
            problems.Add($"lag of {StatusReport.FormatBytes(lagBytes.Value)} is over the limit of {StatusReport.FormatBytes(options.MaxLagBytes)} (--max-lag-bytes)");
        if (lagSeconds > options.MaxLag.TotalSeconds)
            problems.Add(string.Create(CultureInfo.InvariantCulture,
                $"the store has not advanced for {lagSeconds:0} s while WAL is pending, over the limit of {options.MaxLag.TotalSeconds:0} s (--max-lag-seconds)"));
        if (progress?.LastError is { Length: > 0 } err)
            warnings.Add("the worker recorded an error: " + err);

        return new StatusReport
        {
            Database = server.Database,
            Source = ConnectionStrings.Describe(sourceCs),
            Store = storeCs is null ? "source database (schema hindsight)" : ConnectionStrings.Describe(storeCs),
            SourceName = sourceName,
            StoreSources = storeSources,
            Slot = options.Slot,
            SlotExists = slotOk,
            SlotActive = slot?.Active ?? false,
            SlotActivePid = slot?.ActivePid,
            WalStatus = slot?.WalStatus,
            ConfirmedPosition = slot?.ConfirmedFlushLsn,
            CurrentPosition = currentLsn,
            LagBytes = lagBytes,
            RetainedBytes = slotOk ? slot!.RetainedBytes : null,
            SafeWalBytes = slotOk ? slot!.SafeWalBytes : null,
            LagSeconds = lagSeconds is null ? null : Math.Round(lagSeconds.Value, 1),
            Publication = options.Publication,
            PublicationExists = publicationExists,
            PublishedTables = publishedTables,
            StoreReadable = storeRead,
            StoreVersion = storeVersion,
            LastStoredPosition = progress is null ? null : PgNames.FormatLsn((ulong)progress.LastEndLsn),
            LastCommittedAt = progress?.LastCommittedAt,
            ProgressUpdatedAt = progress?.UpdatedAt,
            StoredChanges = progress?.StoredChanges,
            StoredTransactions = progress?.StoredTransactions,
            LastError = progress?.LastError,
            MaxLagBytes = options.MaxLagBytes,
            MaxLagSeconds = options.MaxLag.TotalSeconds,
            UntrackedColumns = untracked,
            Partitioning = partitioning,
            LegalHolds = holds,
            Problems = problems,
            Warnings = warnings,
        };
    }

    /// <summary>What a lost slot means for the trail, and how to start again.</summary>
    private string LostSlotProblem(Progress? progress)
    {
        var stored = progress is null || progress.LastEndLsn == 0
            ? "nothing was stored through it"
            : $"the store holds every change up to position {PgNames.FormatLsn((ulong)progress.LastEndLsn)}" +
              (progress.LastCommittedAt is { } at ? string.Create(CultureInfo.InvariantCulture, $" (committed {at.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z)") : "");
        return $"the replication slot {options.Slot} was invalidated: the server removed WAL it still needed (wal_status lost, " +
               $"max_slot_wal_keep_size), so changes made after the last stored one were never captured and cannot be read any more; {stored}. " +
               "Capture cannot resume from this slot: run hindsight teardown, then hindsight setup (with --snapshot for a new baseline of the " +
               "current rows) and hindsight run; the gap stays in the trail.";
    }

    private sealed record Progress(long LastEndLsn, long StoredChanges, long StoredTransactions,
        DateTimeOffset? LastCommittedAt, DateTimeOffset UpdatedAt, string? LastError);

    private async Task<(Progress?, double?)> ReadProgressAsync(NpgsqlDataSource store, string sourceName, CancellationToken ct)
    {
        var cmd = store.CreateCommand(
            """
            SELECT last_end_lsn, stored_changes, stored_transactions, last_committed_at, updated_at, last_error,
                   greatest(extract(epoch FROM now() - updated_at), 0)::float8
            FROM hindsight.progress WHERE slot = $1 AND source = $2
            """);
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        cmd.Parameters.AddWithValue(options.Slot);
        cmd.Parameters.AddWithValue(sourceName);
        var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        await using var rDisposal = r.ConfigureAwait(false);
        if (!await r.ReadAsync(ct).ConfigureAwait(false)) return (null, null);
        var p = new Progress(r.GetInt64(0), r.GetInt64(1), r.GetInt64(2),
            r.IsDBNull(3) ? null : new DateTimeOffset(r.GetDateTime(3), TimeSpan.Zero),
            new DateTimeOffset(r.GetDateTime(4), TimeSpan.Zero),
            r.IsDBNull(5) ? null : r.GetString(5));
        return (p, r.GetDouble(6));
    }
}
