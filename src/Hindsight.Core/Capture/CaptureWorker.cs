using System.Threading.Channels;
using Hindsight.Capture.Rendering;
using Hindsight.Sink;
using Hindsight.Stitch;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Npgsql.Replication;

namespace Hindsight.Capture;

/// <summary>
/// Reads the slot and writes every committed change to the store until cancelled
/// (<c>hindsight run</c>): Capture (<see cref="ReplicationReader"/>) → Stitch
/// (<see cref="TransactionStitcher"/>) → Sink (<see cref="PostgresChangeSink"/>) → acknowledge.
/// Reconnects with backoff when the source or the store goes away; resumes from the slot.
/// </summary>
public sealed class CaptureWorker(CaptureOptions options, ILoggerFactory? loggerFactory = null)
{
    private const int ChannelCapacity = 4096;

    private readonly ILogger _log = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<CaptureWorker>();
    private PgTypeCatalog? _types;

    /// <summary>The options this worker runs with.</summary>
    public CaptureOptions Options => options;

    /// <summary>Raised (on the stitching thread) after each store commit with the end LSN acknowledged.</summary>
    public event Action<ulong>? Acknowledged;

    /// <summary>Runs until <paramref name="cancellationToken"/> is cancelled (returns normally), or a fatal error (throws <see cref="CaptureException"/>).</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var rules = new ColumnRules(options.IgnoreColumns, options.RedactColumns); // bad patterns fail before connecting
        await using var source = NpgsqlDataSource.Create(options.SourceConnectionString);
        // The default store is the source database itself: one pool serves both.
        await using var separateStore = options.StoreConnectionString is null ? null : NpgsqlDataSource.Create(options.StoreConnectionString);
        var store = separateStore ?? source;
        _types ??= new PgTypeCatalog(source);

        var delay = options.ReconnectMinDelay;
        DateTime? slotBusySince = null;
        while (!cancellationToken.IsCancellationRequested)
        {
            string? database = null;
            try
            {
                database = await CurrentDatabaseAsync(source, cancellationToken);
                await RunSessionAsync(source, store, database, rules, () => { delay = options.ReconnectMinDelay; slotBusySince = null; }, cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                break;
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.ObjectInUse)
            {
                // The slot is held by another walsender: a second worker, or our own previous connection
                // that the server has not noticed is gone yet. Wait a little, then refuse clearly.
                slotBusySince ??= DateTime.UtcNow;
                if (DateTime.UtcNow - slotBusySince > options.SlotInUseTimeout)
                    throw new CaptureException(
                        $"replication slot '{options.Slot}' is in use by another process ({e.MessageText}); is another worker running? " +
                        "Only one worker can read a slot.", e);
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            }
            catch (Exception e) when (Fatal(e) is { } message)
            {
                if (database is not null) await PostgresChangeSink.RecordErrorAsync(store, options.Slot, database, message);
                throw new CaptureException(message, e);
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested)
            {
                _log.LogWarning("capture interrupted: {Error}; reconnecting in {Delay:0.0}s", e.Message, delay.TotalSeconds);
                if (database is not null) await PostgresChangeSink.RecordErrorAsync(store, options.Slot, database, e.Message);
                try { await Task.Delay(delay, cancellationToken); }
                catch (OperationCanceledException) { break; }
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, options.ReconnectMaxDelay.Ticks));
            }
        }
    }

    private async Task RunSessionAsync(NpgsqlDataSource source, NpgsqlDataSource store, string database,
        ColumnRules rules, Action connected, CancellationToken ct)
    {
        await using var sink = new PostgresChangeSink(store, options.Slot, database, options.BatchSize);
        await sink.InitializeAsync(ct);

        await using var replication = new LogicalReplicationConnection(SourceSession.Apply(options.SourceConnectionString))
        {
            WalReceiverStatusInterval = TimeSpan.FromSeconds(1),
            WalReceiverTimeout = TimeSpan.FromSeconds(60),
        };
        await replication.Open(ct);
        _log.LogInformation("capturing slot {Slot} (publication {Publication}) of database {Database}; stored up to commit {Lsn}",
            options.Slot, options.Publication, database, new NpgsqlTypes.NpgsqlLogSequenceNumber(sink.LastCommitLsn));

        var channel = Channel.CreateBounded<CaptureEvent>(new BoundedChannelOptions(ChannelCapacity)
        {
            SingleReader = true, SingleWriter = true, FullMode = BoundedChannelFullMode.Wait,
        });
        using var session = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var reader = new ReplicationReader(replication, new RelationCatalog(source, _types!), options);
        var stitcher = new TransactionStitcher(sink, options, rules);

        var reading = Task.Run(async () =>
        {
            try
            {
                await reader.RunAsync(channel.Writer, session.Token);
                channel.Writer.TryComplete(new IOException("the replication stream ended"));
            }
            catch (Exception e) { channel.Writer.TryComplete(e); throw; }
        }, CancellationToken.None);
        var lastAck = DateTime.UtcNow; // read by the heartbeat
        var stitching = Task.Run(async () =>
        {
            var first = true;
            await stitcher.RunAsync(channel.Reader, lsn =>
            {
                if (first) { connected(); first = false; }
                replication.SetReplicationStatus(new NpgsqlTypes.NpgsqlLogSequenceNumber(lsn));
                lastAck = DateTime.UtcNow;
                Acknowledged?.Invoke(lsn);
            }, session.Token);
        }, CancellationToken.None);

        var heartbeat = HeartbeatAsync(source, () => lastAck, session.Token);

        var done = await Task.WhenAny(reading, stitching);
        await session.CancelAsync();
        try { await Task.WhenAll(reading, stitching, heartbeat); }
        catch (Exception) when (ct.IsCancellationRequested) { }
        catch (Exception) { /* rethrown below from the task that failed first */ }

        if (ct.IsCancellationRequested)
        {
            // Graceful stop: push the last acknowledgement now rather than waiting for the feedback timer.
            try { await replication.SendStatusUpdate(CancellationToken.None); } catch (Exception) { /* best effort */ }
            _log.LogInformation("capture stopped; stored up to commit {Lsn}", new NpgsqlTypes.NpgsqlLogSequenceNumber(sink.LastCommitLsn));
            ct.ThrowIfCancellationRequested();
        }
        await done; // surfaces the first failure (the other task saw only the cancellation)
        throw new IOException("capture session ended unexpectedly");
    }

    private async Task HeartbeatAsync(NpgsqlDataSource source, Func<DateTime> lastAck, CancellationToken ct)
    {
        if (options.HeartbeatInterval <= TimeSpan.Zero) return;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(options.HeartbeatInterval / 2, ct);
                if (DateTime.UtcNow - lastAck() >= options.HeartbeatInterval) await CatchUp.MarkAsync(source, ct);
            }
            catch (OperationCanceledException) { return; }
            catch (Exception e) { _log.LogDebug("heartbeat failed: {Error}", e.Message); }
        }
    }

    private static async Task<string> CurrentDatabaseAsync(NpgsqlDataSource source, CancellationToken ct)
    {
        await using var cmd = source.CreateCommand("SELECT current_database()");
        return (string)(await cmd.ExecuteScalarAsync(ct))!;
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
            $"replication slot '{options.Slot}' was invalidated by the server ({p.MessageText}); WAL it needed was removed " +
            "(max_slot_wal_keep_size), so changes were lost. Run 'hindsight teardown' and 'hindsight setup' to start again.",
        PostgresException p when p.SqlState is PostgresErrorCodes.InvalidPassword or PostgresErrorCodes.InvalidAuthorizationSpecification
            or PostgresErrorCodes.InsufficientPrivilege or PostgresErrorCodes.InvalidCatalogName =>
            $"cannot capture: {p.MessageText}",
        PostgresException p when p.SqlState == PostgresErrorCodes.UndefinedTable && p.MessageText.Contains("hindsight.") =>
            $"the change store is not set up ({p.MessageText}); run 'hindsight setup' first.",
        ArgumentException => e.Message,
        _ => null,
    };
}
