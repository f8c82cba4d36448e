using System.Threading.Channels;
using Hindsight.Capture;
using Hindsight.Capture.Rendering;
using Hindsight.Configuration;
using Hindsight.Postgres;
using Hindsight.Sink;
using Hindsight.Stitch;
using Hindsight.Store;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Npgsql.Replication;

namespace Hindsight.Worker;

/// <summary>
/// Reads the slot and writes every committed change to the store until cancelled
/// (<c>hindsight run</c>): Capture (<see cref="ReplicationReader"/>) → Stitch
/// (<see cref="TransactionStitcher"/>) → Sink (<see cref="PostgresChangeSink"/>) → acknowledge.
/// Reconnects with backoff when the source or the store goes away; resumes from the slot.
/// </summary>
public sealed class CaptureWorker(CaptureOptions options, ILoggerFactory? loggerFactory = null)
{
    // Batches in flight between Capture and Stitch at most: up to 32,768 events while a large transaction goes in full
    // batches, as many transactions when they are small (a bound of a few thousand events let a store round trip stall
    // the reader after a few dozen small transactions).
    internal const int ChannelCapacity = 512;

    private readonly ILogger _log = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<CaptureWorker>();

    /// <summary>The source's connection string in Npgsql's form (the options take any form <see cref="ConnectionStrings"/> accepts).</summary>
    private string SourceConnectionString => ConnectionStrings.ToNpgsql(options.SourceConnectionString);
    private PgTypeCatalog? _types;
    private volatile bool _standingBy; // in standby: the slot was in use at the last try
    private volatile bool _capturing;

    /// <summary>
    /// Whether the worker is capturing now: it holds the slot and its session has stored (or acknowledged) something.
    /// False while it connects, reconnects or stands by. What a readiness probe reports.
    /// </summary>
    public bool IsCapturing => _capturing;

    /// <summary>Whether the worker is waiting in standby: the slot was in use by another worker at its last try.</summary>
    public bool IsStandingBy => _standingBy;

    /// <summary>
    /// Where each capture session hands its changes; null: the store (<see cref="PostgresChangeSink"/>). The scale path
    /// sets it to a sink that publishes to its queue.
    /// </summary>
    internal Func<CaptureSinkTarget, ICaptureSink>? SinkFactory { get; init; }

    /// <summary>The options this worker runs with.</summary>
    public CaptureOptions Options => options;

    /// <summary>Raised (on the stitching thread) after each store commit with the end LSN acknowledged.</summary>
    public event Action<ulong>? Acknowledged;

    /// <summary>Runs until <paramref name="cancellationToken"/> is cancelled (returns normally), or a fatal error (throws <see cref="CaptureException"/>).</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var rules = new ColumnRules(options.IgnoreColumns, options.RedactColumns); // bad patterns fail before connecting
        var source = NpgsqlDataSource.Create(SourceConnectionString);
        await using var sourceDisposal = source.ConfigureAwait(false);
        // The default store is the source database itself: one pool serves both.
        var separateStore = options.StoreConnectionString is null ? null : NpgsqlDataSource.Create(ConnectionStrings.ToNpgsql(options.StoreConnectionString));
        await using var separateStoreDisposal = OptionalAsyncDisposable.ConfigureAwait(separateStore, false);
        var store = separateStore ?? source;
        _types ??= new PgTypeCatalog(source);
        var upkeep = new StoreUpkeep(store, _log);
        using var signingKey = LoadSigningKey();
        var checkpoints = signingKey is null ? null : new CheckpointSchedule(store, signingKey, options.CheckpointInterval, options.CheckpointDirectory, _log);

        var delay = options.ReconnectMinDelay;
        DateTime? slotBusySince = null;
        while (!cancellationToken.IsCancellationRequested)
        {
            string? sourceName = null;
            try
            {
                var identity = await SourceIdentity.ReadAsync(source, SourceSession.Apply(SourceConnectionString), cancellationToken).ConfigureAwait(false);
                sourceName = await RegisterAsync(store, identity, cancellationToken).ConfigureAwait(false);
                try
                {
                    await RunSessionAsync(source, store, sourceName, identity.Database, rules, upkeep, checkpoints, () =>
                    {
                        if (slotBusySince is { } since && options.Standby)
                            _log.LogInformation("took over replication slot {Slot} after {Seconds:0.0}s in standby", options.Slot, (DateTime.UtcNow - since).TotalSeconds);
                        _standingBy = false;
                        _capturing = true;
                        delay = options.ReconnectMinDelay;
                        slotBusySince = null;
                    }, cancellationToken).ConfigureAwait(false);
                }
                finally
                {
                    _capturing = false; // whatever ended the session
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                break;
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.ObjectInUse)
            {
                // The slot is held by another walsender: a second worker, or our own previous connection
                // that the server has not noticed is gone yet. A replica in standby waits for it to be released, however
                // long that takes; otherwise wait a little, then refuse clearly.
                if (options.Standby)
                {
                    if (slotBusySince is null)
                        _log.LogInformation("standing by: replication slot {Slot} is in use by another worker ({Error}); taking over when it is released",
                            options.Slot, e.MessageText);
                    slotBusySince ??= DateTime.UtcNow;
                    _standingBy = true;
                    await Task.Delay(options.StandbyPollInterval, cancellationToken).ConfigureAwait(false);
                    continue;
                }
                if (slotBusySince is null)
                    _log.LogWarning("replication slot {Slot} is in use by another process ({Error}); waiting up to {Timeout:0}s for it to be released",
                        options.Slot, e.MessageText, options.SlotInUseTimeout.TotalSeconds);
                slotBusySince ??= DateTime.UtcNow;
                if (DateTime.UtcNow - slotBusySince > options.SlotInUseTimeout)
                    throw new CaptureException(
                        $"replication slot '{options.Slot}' is in use by another process ({e.MessageText}); is another worker running? " +
                        "Only one worker can read a slot.", e);
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (Fatal(e) is { } message)
            {
                if (sourceName is not null) await PostgresChangeSink.RecordErrorAsync(store, options.Slot, sourceName, message).ConfigureAwait(false);
                throw new CaptureException(message, e);
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested)
            {
                // The server's wording for an invalidated slot differs between versions and its detail may be
                // redacted, so ask the server itself before retrying: retrying a lost slot would go on forever.
                if (await SlotLostAsync(source, cancellationToken).ConfigureAwait(false))
                {
                    var lost = LostSlotMessage(e is PostgresException p ? p.MessageText : e.Message);
                    if (sourceName is not null) await PostgresChangeSink.RecordErrorAsync(store, options.Slot, sourceName, lost).ConfigureAwait(false);
                    throw new CaptureException(lost, e);
                }
                _log.LogWarning("capture interrupted: {Error}; reconnecting in {Delay:0.0}s", e.Message, delay.TotalSeconds);
                Diagnostics.HindsightMetrics.Reconnected(sourceName);
                if (sourceName is not null) await PostgresChangeSink.RecordErrorAsync(store, options.Slot, sourceName, e.Message).ConfigureAwait(false);
                try { await Task.Delay(delay, cancellationToken).ConfigureAwait(false); }
                catch (OperationCanceledException) { break; }
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, options.ReconnectMaxDelay.Ticks));
            }
        }
    }

    /// <summary>
    /// The source's name in the store, registering it when the store does not know it yet (a store set up before sources,
    /// or a worker given a new name). A name taken by another database is fatal: its progress and history are not ours.
    /// </summary>
    private async Task<string> RegisterAsync(NpgsqlDataSource store, SourceIdentity identity, CancellationToken ct)
    {
        var version = await StoreMigrations.CurrentVersionAsync(store, ct).ConfigureAwait(false);
        if (version < StoreMigrations.LatestVersion)
            throw new CaptureException(version == 0
                ? "the change store is not set up; run 'hindsight setup' first."
                : $"the change store is at schema version {version}, older than this worker needs ({StoreMigrations.LatestVersion}): " +
                  "run 'hindsight setup' (with the same --source and --store) to migrate it, then start the worker again.");
        try { return await SourceRegistry.RegisterAsync(store, identity, options.SourceName, ct).ConfigureAwait(false); }
        catch (SourceNameException e) { throw new CaptureException(e.Message, e); }
    }

    /// <summary>Whether setup's schema change trigger for this publication is installed and enabled in the source.</summary>
    private async Task<bool> SchemaTriggerInstalledAsync(NpgsqlDataSource source, CancellationToken ct)
    {
        var cmd = source.CreateCommand("SELECT EXISTS (SELECT 1 FROM pg_event_trigger WHERE evtname = $1 AND evtenabled <> 'D')");
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        cmd.Parameters.AddWithValue(Setup.SchemaChangeTrigger.EventTriggerName(options.Publication));
        return (bool)(await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
    }

    /// <summary>
    /// Gives capture what the stored schema changes say of the source's tables, in their order (one read, at start):
    /// the stitcher every column map (to bring a row's last stored image up to the columns of now); the relation
    /// catalog each table's last primary key (what the reader would have learnt from the WAL before the point a restart
    /// resumes at, for tables dropped, or whose key column was renamed, since); and, without the trigger, each table's
    /// last columns (so relation messages report only real changes).
    /// </summary>
    private static async Task SeedFromStoredSchemaAsync(NpgsqlDataSource store, string sourceName, RelationCatalog relations,
        RelationSchema? relationSchema, TransactionStitcher stitcher, CancellationToken ct)
    {
        var cmd = store.CreateCommand(
            """
            SELECT relid, (detail -> 'primary_key')::text, columns::text FROM hindsight.schema_changes
            WHERE source = $1 AND columns IS NOT NULL ORDER BY commit_lsn, position
            """);
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        cmd.Parameters.AddWithValue(sourceName);
        var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        await using var rDisposal = r.ConfigureAwait(false);
        while (await r.ReadAsync(ct).ConfigureAwait(false))
        {
            var relid = r.GetInt64(0);
            if (relid is <= 0 or > uint.MaxValue || System.Text.Json.Nodes.JsonNode.Parse(r.GetString(2)) is not System.Text.Json.Nodes.JsonArray columns) continue;
            stitcher.ObserveColumns((uint)relid, columns);
            relationSchema?.Remember((uint)relid, columns);
            if (!r.IsDBNull(1) && System.Text.Json.JsonSerializer.Deserialize<string[]>(r.GetString(1)) is { } key) relations.RememberKey((uint)relid, key);
        }
    }

    private async Task RunSessionAsync(NpgsqlDataSource source, NpgsqlDataSource store, string sourceName, string database,
        ColumnRules rules, StoreUpkeep upkeep, CheckpointSchedule? checkpoints, Action connected, CancellationToken ct)
    {
        var target = new CaptureSinkTarget(store, options.Slot, sourceName, database, options.BatchSize);
        var sink = SinkFactory?.Invoke(target) ?? new PostgresChangeSink(store, options.Slot, sourceName, database, options.BatchSize);
        await using var sinkDisposal = sink.ConfigureAwait(false);
        await sink.InitializeAsync(ct).ConfigureAwait(false);
        await RecordUntrackedColumnsAsync(source, store, sourceName, ct).ConfigureAwait(false);

        var replication = new LogicalReplicationConnection(SourceSession.Apply(SourceConnectionString))
        {
            WalReceiverStatusInterval = TimeSpan.FromSeconds(1),
            WalReceiverTimeout = TimeSpan.FromSeconds(60),
        };
        await using var replicationDisposal = replication.ConfigureAwait(false);
        await replication.Open(ct).ConfigureAwait(false);
        // In standby this is tried every second until the slot is free: said once, at the start, not at every try.
        _log.Log(_standingBy ? LogLevel.Debug : LogLevel.Information,
            "capturing slot {Slot} (publication {Publication}) of database {Database} as source {Source}; {Progress}",
            options.Slot, options.Publication, database, sourceName, sink.DescribeProgress());

        var channel = Channel.CreateBounded<CaptureEvent[]>(new BoundedChannelOptions(ChannelCapacity)
        {
            SingleReader = true, SingleWriter = true, FullMode = BoundedChannelFullMode.Wait,
        });
        using var session = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var relations = new RelationCatalog(source, _types!);
        // Without setup's schema change trigger, schema changes are read from pgoutput's relation messages.
        var relationSchema = await SchemaTriggerInstalledAsync(source, ct).ConfigureAwait(false) ? null : new RelationSchema(source);
        var reader = new ReplicationReader(replication, relations, options.Slot, options.Publication, options.ContextSizeLimit, relationSchema,
            options.StreamLargeTransactions, options.ReadPause);
        var stitcher = new TransactionStitcher(sink,
            new StitchOptions(options.CommitInterval, options.MaxChangesPerStoreTransaction, options.ContextSizeLimit), rules, sink.RedactionKey);
        await SeedFromStoredSchemaAsync(store, sourceName, relations, relationSchema, stitcher, ct).ConfigureAwait(false);

        var reading = Task.Run(async () =>
        {
            try
            {
                await reader.RunAsync(channel.Writer, session.Token).ConfigureAwait(false);
                channel.Writer.TryComplete(new IOException("the replication stream ended"));
            }
            catch (Exception e) { channel.Writer.TryComplete(e); throw; }
        }, CancellationToken.None);
        // Read by the heartbeat. None yet: on a quiet database the first heartbeat comes at once, so the worker's first
        // acknowledgement, and with it "capturing" (readiness), does not wait for a whole heartbeat interval.
        var lastAck = DateTime.MinValue;
        var upkeeping = Task.CompletedTask;
        var checkpointing = Task.CompletedTask;
        var stitching = Task.Run(async () =>
        {
            // The first event means the session holds the slot. Until then another worker (a replica this one stood by
            // for) may have stored more, and acknowledged it too late for the slot to know: read again what is durable,
            // or its last store commits come again and fail on the store's key.
            if (await channel.Reader.WaitToReadAsync(session.Token).ConfigureAwait(false))
            {
                await sink.SlotAcquiredAsync(session.Token).ConfigureAwait(false);
                // The store's upkeep is the slot holder's: not a standby's, nor a session's that failed before it held the slot.
                upkeeping = upkeep.RunAsync(session.Token);
                if (checkpoints is not null) checkpointing = checkpoints.RunAsync(sourceName, session.Token);
            }
            var first = true;
            await stitcher.RunAsync(channel.Reader, lsn =>
            {
                if (first) { connected(); first = false; }
                replication.SetReplicationStatus(new NpgsqlTypes.NpgsqlLogSequenceNumber(lsn));
                lastAck = DateTime.UtcNow;
                Acknowledged?.Invoke(lsn);
            }, session.Token).ConfigureAwait(false);
        }, CancellationToken.None);

        var heartbeat = HeartbeatAsync(source, () => lastAck, session.Token);

        var done = await Task.WhenAny(reading, stitching).ConfigureAwait(false);
        await session.CancelAsync().ConfigureAwait(false);
        try
        {
            await Task.WhenAll(reading, stitching, heartbeat).ConfigureAwait(false);
            await upkeeping.ConfigureAwait(false); // set by the stitching task, which has ended
            await checkpointing.ConfigureAwait(false);
        }
        catch (Exception) when (ct.IsCancellationRequested) { }
        catch (Exception) { /* rethrown below from the task that failed first */ }

        if (ct.IsCancellationRequested)
        {
            // Graceful stop: push the last acknowledgement now rather than waiting for the feedback timer.
            try { await replication.SendStatusUpdate(CancellationToken.None).ConfigureAwait(false); } catch (Exception) { /* best effort */ }
            _log.LogInformation("capture stopped; {Progress}", sink.DescribeProgress());
            ct.ThrowIfCancellationRequested();
        }
        await done.ConfigureAwait(false); // surfaces the first failure (the other task saw only the cancellation)
        throw new IOException("capture session ended unexpectedly");
    }

    /// <summary>The checkpoint signing key, when one is configured; a configured key that cannot be read stops the worker at once.</summary>
    private Chain.SigningKey? LoadSigningKey()
    {
        if (options.SigningKeyPath is not { } path) return null;
        try { return Chain.SigningKey.Load(path); }
        catch (Exception e) when (e is IOException or FormatException or UnauthorizedAccessException)
        {
            throw new CaptureException($"cannot read the checkpoint signing key: {e.Message} (hindsight setup makes one; or run without --signing-key)", e);
        }
    }

    /// <summary>
    /// Records which published columns the images lack (generated columns the server does not send), as setup does:
    /// the schema may have changed since. Best effort: a store role without the right to write it only loses the marks.
    /// </summary>
    private async Task RecordUntrackedColumnsAsync(NpgsqlDataSource source, NpgsqlDataSource store, string sourceName, CancellationToken ct)
    {
        try
        {
            var conn = await source.OpenConnectionAsync(ct).ConfigureAwait(false);
            await using var connDisposal = conn.ConfigureAwait(false);
            var untracked = await UntrackedColumnStore.RecordAsync(conn, store, sourceName, options.Publication, ct).ConfigureAwait(false);
            if (untracked.Count > 0)
                _log.LogInformation("generated columns not in the images (the server does not publish them): {Columns}",
                    string.Join("; ", Model.UntrackedColumn.Describe(untracked)));
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.InsufficientPrivilege)
        {
            _log.LogWarning("could not record the untracked columns in the store ({Error}); as-of cannot mark them", e.MessageText);
        }
    }

    private async Task HeartbeatAsync(NpgsqlDataSource source, Func<DateTime> lastAck, CancellationToken ct)
    {
        if (options.HeartbeatInterval <= TimeSpan.Zero) return;
        // The first look comes after a second, time enough for a standby's start to fail on the busy slot (so a standby
        // writes no heartbeat) and for a busy stream to deliver its first acknowledgement; then every half interval.
        var wait = TimeSpan.FromSeconds(1) < options.HeartbeatInterval / 2 ? TimeSpan.FromSeconds(1) : options.HeartbeatInterval / 2;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(wait, ct).ConfigureAwait(false);
                wait = options.HeartbeatInterval / 2;
                if (DateTime.UtcNow - lastAck() >= options.HeartbeatInterval) await CatchUp.MarkAsync(source, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) { return; }
            catch (Exception e) { _log.LogDebug("heartbeat failed: {Error}", e.Message); }
        }
    }

    private string LostSlotMessage(string serverSaid) =>
        $"replication slot '{options.Slot}' was invalidated by the server ({serverSaid}): WAL it needed was removed " +
        "(max_slot_wal_keep_size), so changes made after the last stored one can no longer be captured. " +
        "'hindsight status' shows what the store holds; run 'hindsight teardown' and 'hindsight setup' to start again.";

    /// <summary>Whether the server reports the slot as invalidated (<c>wal_status = 'lost'</c>); false when it cannot be asked.</summary>
    private async Task<bool> SlotLostAsync(NpgsqlDataSource source, CancellationToken ct)
    {
        try
        {
            var cmd = source.CreateCommand("SELECT wal_status = 'lost' FROM pg_replication_slots WHERE slot_name = $1");
            await using var cmdDisposal = cmd.ConfigureAwait(false);
            cmd.Parameters.AddWithValue(options.Slot);
            return await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false) is true;
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException)
        {
            return false; // the source is away: an ordinary reconnect
        }
    }

    /// <summary>A clear message for errors that retrying cannot fix, or null for transient ones.</summary>
    private string? Fatal(Exception e) => e switch
    {
        CaptureException => e.Message,
        PostgresException p when p.SqlState == PostgresErrorCodes.UndefinedObject && p.MessageText.Contains("replication slot") =>
            $"replication slot '{options.Slot}' does not exist; run 'hindsight setup' first. If it existed before, it was dropped " +
            "and changes made since it was dropped are lost to capture: run 'hindsight setup' to create a new slot.",
        PostgresException p when p.SqlState == PostgresErrorCodes.UndefinedObject && p.MessageText.Contains("publication") =>
            $"publication '{options.Publication}' does not exist; run 'hindsight setup' first.",
        PostgresException p when p.SqlState == PostgresErrorCodes.ObjectNotInPrerequisiteState && p.MessageText.Contains("can no longer get changes") =>
            LostSlotMessage(p.MessageText),
        PostgresException p when p.SqlState is PostgresErrorCodes.InvalidPassword or PostgresErrorCodes.InvalidAuthorizationSpecification
            or PostgresErrorCodes.InsufficientPrivilege or PostgresErrorCodes.InvalidCatalogName =>
            $"cannot capture: {p.MessageText}",
        PostgresException p when p.SqlState == PostgresErrorCodes.UndefinedTable && p.MessageText.Contains("hindsight.") =>
            $"the change store is not set up ({p.MessageText}); run 'hindsight setup' first.",
        ArgumentException => e.Message,
        _ => null,
    };
}
