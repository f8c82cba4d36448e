using System.Globalization;
using System.Text;
using Hindsight.Configuration;
using Hindsight.Model;
using Hindsight.Postgres;
using Hindsight.Setup;
using Hindsight.Store;
using Npgsql;

namespace Hindsight.Status;

/// <summary>Settings of <c>hindsight status</c>.</summary>
public sealed class StatusOptions
{
    /// <summary>Connection string of the tracked (source) database, in any form <see cref="ConnectionStrings"/> accepts.</summary>
    public required string SourceConnectionString { get; init; }

    /// <summary>Connection string of the store; null means the source database itself.</summary>
    public string? StoreConnectionString { get; init; }

    /// <summary>The source's name in the store; null: the name this database has there.</summary>
    public string? SourceName { get; init; }

    /// <summary>The slot to report on.</summary>
    public string Slot { get; init; } = "hindsight";

    /// <summary>The publication to report on.</summary>
    public string Publication { get; init; } = "hindsight";

    /// <summary>Unhealthy above this many bytes of WAL not yet confirmed by the worker. Default 1 GiB.</summary>
    public long MaxLagBytes { get; init; } = DefaultMaxLagBytes;

    /// <summary>Unhealthy when the store has not advanced for this long while WAL is pending. Default 10 minutes.</summary>
    public TimeSpan MaxLag { get; init; } = TimeSpan.FromSeconds(DefaultMaxLagSeconds);

    /// <summary>The default of <see cref="MaxLagBytes"/>.</summary>
    public const long DefaultMaxLagBytes = 1L << 30;

    /// <summary>The default of <see cref="MaxLag"/>, in seconds.</summary>
    public const int DefaultMaxLagSeconds = 600;
}

/// <summary>
/// What <c>hindsight status</c> reports. No connection string or password is part of it.
/// </summary>
public sealed class StatusReport
{
    /// <summary>The source database's name.</summary>
    public required string Database { get; init; }
    /// <summary>Where the source is (<c>user@host:port/db</c>), without credentials.</summary>
    public required string Source { get; init; }
    /// <summary>Where the store is, without credentials (<c>source database</c> when it is the source).</summary>
    public required string Store { get; init; }
    /// <summary>The source's name in the store (what its changes carry); null when the store does not know this database.</summary>
    public string? SourceName { get; init; }
    /// <summary>Every source the store holds, by name (this one among them once registered).</summary>
    public IReadOnlyList<string> StoreSources { get; init; } = [];
    /// <summary>The slot's name.</summary>
    public required string Slot { get; init; }
    /// <summary>Whether the slot exists (in this database, as a pgoutput slot).</summary>
    public required bool SlotExists { get; init; }
    /// <summary>Whether a worker is reading the slot now.</summary>
    public bool SlotActive { get; init; }
    /// <summary>The walsender serving the slot, when active.</summary>
    public int? SlotActivePid { get; init; }
    /// <summary><c>pg_replication_slots.wal_status</c>: reserved, extended, unreserved or lost.</summary>
    public string? WalStatus { get; init; }
    /// <summary>The slot's confirmed position (<c>confirmed_flush_lsn</c>).</summary>
    public string? ConfirmedPosition { get; init; }
    /// <summary>The server's current WAL position.</summary>
    public string? CurrentPosition { get; init; }
    /// <summary>WAL bytes written since the slot's confirmed position.</summary>
    public long? LagBytes { get; init; }
    /// <summary>WAL bytes the server keeps on disk for the slot (since its <c>restart_lsn</c>): what a stopped worker costs the source.</summary>
    public long? RetainedBytes { get; init; }
    /// <summary>WAL bytes that can still be written before the server invalidates the slot; null when unlimited (<c>max_slot_wal_keep_size = -1</c>).</summary>
    public long? SafeWalBytes { get; init; }
    /// <summary>
    /// 0 when caught up (nothing unconfirmed); otherwise seconds since the store last advanced
    /// (<c>hindsight.progress.updated_at</c>); null when the worker has never stored anything.
    /// </summary>
    public double? LagSeconds { get; init; }
    /// <summary>The publication's name.</summary>
    public required string Publication { get; init; }
    /// <summary>Whether the publication exists.</summary>
    public bool PublicationExists { get; init; }
    /// <summary>Tables in the publication (partitioned tables counted once).</summary>
    public int PublishedTables { get; init; }
    /// <summary>False when the store could not be reached or read (then nothing is known of its schema or progress).</summary>
    public bool StoreReadable { get; init; } = true;
    /// <summary>The store's schema version (0: no store).</summary>
    public int StoreVersion { get; init; }
    /// <summary>The version setup migrates the store to.</summary>
    public int StoreLatestVersion { get; init; } = StoreMigrations.LatestVersion;
    /// <summary>End position of the last transaction whose changes are stored (<c>0/16B3748</c>).</summary>
    public string? LastStoredPosition { get; init; }
    /// <summary>Commit time of the last stored transaction.</summary>
    public DateTimeOffset? LastCommittedAt { get; init; }
    /// <summary>When the worker last advanced the store.</summary>
    public DateTimeOffset? ProgressUpdatedAt { get; init; }
    /// <summary>Changes stored through this slot.</summary>
    public long? StoredChanges { get; init; }
    /// <summary>Transactions stored through this slot.</summary>
    public long? StoredTransactions { get; init; }
    /// <summary>The worker's last error, if it recorded one.</summary>
    public string? LastError { get; init; }
    /// <summary>The byte threshold applied.</summary>
    public long MaxLagBytes { get; init; }
    /// <summary>The seconds threshold applied.</summary>
    public double MaxLagSeconds { get; init; }
    /// <summary>
    /// Columns of the published tables whose values the images do not hold (generated columns the server does not
    /// publish), as the source catalog says now; each table is also named in <see cref="Warnings"/>.
    /// </summary>
    public IReadOnlyList<UntrackedColumn> UntrackedColumns { get; init; } = [];
    /// <summary>True when nothing in <see cref="Problems"/>.</summary>
    public bool Healthy => Problems.Count == 0;
    /// <summary>Why the installation is unhealthy (empty when healthy).</summary>
    public required IReadOnlyList<string> Problems { get; init; }
    /// <summary>Things worth knowing that do not make it unhealthy.</summary>
    public required IReadOnlyList<string> Warnings { get; init; }

    /// <summary>The report as plain text for a terminal.</summary>
    public string ToText()
    {
        var inv = CultureInfo.InvariantCulture;
        var rows = new List<(string, string)>
        {
            ("database", $"{Database} ({Source})"),
            ("source", SourceName is null ? "- (not registered in the store)" : SourceName),
            ("store", Store + (StoreSources.Count > 1 ? $" (sources: {string.Join(", ", StoreSources)})" : "")),
            ("slot", !SlotExists ? $"{Slot}: missing"
                : $"{Slot}: {(SlotActive ? string.Create(inv, $"active (pid {SlotActivePid})") : "inactive (no worker reading)")}, wal_status {WalStatus ?? "-"}"),
            ("publication", PublicationExists ? string.Create(inv, $"{PgNames.DisplayPart(Publication)}: {PublishedTables} tables") : $"{PgNames.DisplayPart(Publication)}: missing"),
            ("confirmed", ConfirmedPosition is null ? "-" : $"{ConfirmedPosition} (server at {CurrentPosition ?? "-"})"),
            ("retained WAL", RetainedBytes is null ? "-" : FormatBytes(RetainedBytes.Value) + (SafeWalBytes is null
                ? " (max_slot_wal_keep_size unlimited: a stopped worker keeps WAL until it catches up)"
                : $" ({FormatBytes(Math.Max(0, SafeWalBytes.Value))} more before the slot is invalidated, max_slot_wal_keep_size)")),
            ("lag", LagBytes is null ? "-" : $"{FormatBytes(LagBytes.Value)}, {(LagSeconds is null ? (StoreReadable ? "? s (nothing stored yet)" : "? s (store unreachable)") : string.Create(inv, $"{LagSeconds.Value:0} s"))}"),
            ("last stored", LastStoredPosition is null ? "-" : $"{LastStoredPosition}{(LastCommittedAt is null ? "" : string.Create(inv, $", committed {LastCommittedAt.Value.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z"))}"),
            ("stored changes", StoredChanges is null ? "-" : string.Create(inv, $"{StoredChanges} in {StoredTransactions} transactions")),
            ("last error", LastError ?? "-"),
            ("store schema", !StoreReadable ? "unknown (store unreachable)" : StoreVersion == 0 ? "not set up" : string.Create(inv, $"version {StoreVersion} (latest {StoreLatestVersion})")),
            ("health", Healthy ? "OK" : "UNHEALTHY"),
        };
        var sb = new StringBuilder();
        var width = rows.Max(r => r.Item1.Length);
        foreach (var (k, v) in rows) sb.AppendLine(inv, $"{k.PadRight(width)}  {v}");
        foreach (var p in Problems) sb.AppendLine("problem: " + p);
        foreach (var w in Warnings) sb.AppendLine("warning: " + w);
        return sb.ToString();
    }

    /// <summary>1536 → "1.5 KiB".</summary>
    internal static string FormatBytes(long bytes)
    {
        var inv = CultureInfo.InvariantCulture;
        if (bytes < 1024) return string.Create(inv, $"{bytes} B");
        string[] units = ["KiB", "MiB", "GiB", "TiB"];
        double v = bytes;
        var u = -1;
        while (v >= 1024 && u < units.Length - 1) { v /= 1024; u++; }
        return string.Create(inv, $"{v:0.0} {units[u]} ({bytes} bytes)");
    }
}

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
        var sourceCs = ConnectionStrings.ToNpgsql(options.SourceConnectionString);
        var storeCs = ConnectionStrings.ToNpgsqlOptional(options.StoreConnectionString);
        var problems = new List<string>();
        var warnings = new List<string>();

        await using var source = NpgsqlDataSource.Create(sourceCs);
        await using var conn = await source.OpenConnectionAsync(ct);
        var server = await ServerFacts.ReadAsync(conn, ct);

        var slot = await SlotInfo.ReadAsync(conn, options.Slot, ct);
        string? currentLsn;
        await using (var cmd = new NpgsqlCommand("SELECT CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_wal_lsn()::text END", conn))
            currentLsn = await cmd.ExecuteScalarAsync(ct) as string;

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
        await using (var cmd = new NpgsqlCommand(
            "SELECT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = $1), (SELECT count(*) FROM pg_publication_tables WHERE pubname = $1)::int", conn))
        {
            cmd.Parameters.AddWithValue(options.Publication);
            await using var r = await cmd.ExecuteReaderAsync(ct);
            await r.ReadAsync(ct);
            publicationExists = r.GetBoolean(0);
            publishedTables = r.GetInt32(1);
        }
        if (!publicationExists)
            problems.Add($"the publication {PgNames.DisplayPart(options.Publication)} does not exist: run hindsight setup");
        // Generated columns the server does not publish: images lack them (worth knowing, not unhealthy).
        var untracked = publicationExists ? await UntrackedColumnStore.ReadSourceAsync(conn, null, options.Publication, ct) : [];
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
        try
        {
            await using var store = storeCs is null ? null : NpgsqlDataSource.Create(storeCs);
            var storeSource = store ?? source;
            storeVersion = await StoreMigrations.CurrentVersionAsync(storeSource, ct);
            if (storeVersion >= StoreMigrations.LatestVersion)
            {
                storeSources = (await SourceRegistry.ListAsync(storeSource, ct)).Select(s => s.Name).ToList();
                try
                {
                    var identity = await SourceIdentity.ReadAsync(conn, null, ct);
                    sourceName = await SourceRegistry.FindNameAsync(storeSource, identity, options.SourceName, ct);
                    if (sourceName is null)
                        problems.Add(options.SourceName is null
                            ? "this database is not a source of the store yet: run hindsight setup (and hindsight run)"
                            : $"the store has no source named {options.SourceName}: run hindsight setup --source-name {options.SourceName}");
                }
                catch (SourceNameException e) { problems.Add(e.Message); }
                if (sourceName is not null)
                    (progress, storeAgeSeconds) = await ReadProgressAsync(storeSource, sourceName, ct);
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
        await using var cmd = store.CreateCommand(
            """
            SELECT last_end_lsn, stored_changes, stored_transactions, last_committed_at, updated_at, last_error,
                   greatest(extract(epoch FROM now() - updated_at), 0)::float8
            FROM hindsight.progress WHERE slot = $1 AND source = $2
            """);
        cmd.Parameters.AddWithValue(options.Slot);
        cmd.Parameters.AddWithValue(sourceName);
        await using var r = await cmd.ExecuteReaderAsync(ct);
        if (!await r.ReadAsync(ct)) return (null, null);
        var p = new Progress(r.GetInt64(0), r.GetInt64(1), r.GetInt64(2),
            r.IsDBNull(3) ? null : new DateTimeOffset(r.GetDateTime(3), TimeSpan.Zero),
            new DateTimeOffset(r.GetDateTime(4), TimeSpan.Zero),
            r.IsDBNull(5) ? null : r.GetString(5));
        return (p, r.GetDouble(6));
    }
}
