using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Hindsight.Model;
using Hindsight.Sink;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using Npgsql;

namespace Hindsight.Queue;

/// <summary>
/// Sink of the scale path: publishes each source transaction to the JetStream stream, rendered exactly as the store
/// would hold it (context, full images, TOAST values filled), and reports a transaction durable only once JetStream has
/// acknowledged every part of it and of everything before it. The slot is acknowledged with that, so the queue, not the
/// store, holds the source's WAL back.
/// </summary>
/// <remarks>
/// <para>Small transactions share a message, as they share a store commit on the direct path: the message goes out when
/// it is full (512 KiB of rows) or when the stitcher commits. A transaction too large for one message goes out in parts
/// as they fill (a transaction of any size costs a message of memory). Messages are published without waiting for each
/// acknowledgement; a bounded number are in flight. Any failure (unreachable cluster, a full stream, a refused
/// publish) fails the session: the worker reconnects with backoff and PostgreSQL resends from the slot's acknowledged
/// position. JetStream drops the parts it already holds by their message ids; past the duplicate window the store's key
/// drops them at ingest.</para>
/// <para>Nothing is skipped at start (<see cref="LastCommitLsn"/> is 0): PostgreSQL itself resends only what the slot
/// has not acknowledged, and what the queue already holds is dropped as above.</para>
/// </remarks>
internal sealed class JetStreamChangeSink : ICaptureSink
{
    /// <summary>Parts published and not yet acknowledged, at most.</summary>
    internal const int MaxPartsInFlight = 256;

    /// <summary>Bytes of parts published and not yet acknowledged, at most.</summary>
    internal const long MaxBytesInFlight = 32L << 20;

    /// <summary>Bytes of recent row images kept for the stitcher's fills.</summary>
    internal const long RecentImageBytes = 64L << 20;

    private readonly INatsJSContext _js;
    private readonly string _stream;
    private readonly string _subject;
    private readonly CaptureSinkTarget _target;
    private readonly ILogger _log;
    private readonly int _partBytes;
    private readonly byte[] _sourceUtf8;
    private readonly byte[] _databaseUtf8;
    // Rows waiting to be published: those of whole transactions first (up to _completeBytes), then the open transaction's.
    private readonly ArrayBufferWriter<byte> _buffer = new(1 << 16);
    private readonly ArrayBufferWriter<byte> _scratch = new(4096);
    private readonly LinkedList<InFlight> _inFlight = new();
    private readonly RecentImages _recent = new(RecentImageBytes);
    private readonly SchemaChangeWriter _schemaChanges = new();
    private long _inFlightBytes;
    private StreamSpill? _spill;

    // The whole transactions in the buffer.
    private int _completeBytes, _completeRows, _completeTransactions;
    private ulong _completeFirstLsn, _completeLastLsn, _completeEndLsn;
    private DateTime _completeCommittedAt;

    // The open transaction: its rows after the whole ones, and the parts of it already published.
    private bool _open;
    private ulong _openCommitLsn;
    private DateTime _openCommittedAt;
    private int _openRows, _openParts;

    private ulong _completedEndLsn; // the end LSN of the last transaction handed over whole
    private ulong _ackedEndLsn;     // the last end LSN returned as safe to acknowledge
    private long _uncommittedChanges;

    private readonly record struct InFlight(Task<PubAckResponse> Ack, string MessageId, ReadOnlyMemory<byte> Body, NatsHeaders Headers)
    {
        public long Bytes => Body.Length;
    }

    public JetStreamChangeSink(INatsJSContext js, string stream, CaptureSinkTarget target, ILogger log, int partBytes = QueueMessage.DefaultPartBytes)
    {
        _js = js;
        _stream = stream;
        _subject = QueueSubjects.ChangesOf(stream, target.Source);
        _target = target;
        _log = log;
        _partBytes = partBytes;
        _sourceUtf8 = Encoding.UTF8.GetBytes(target.Source);
        _databaseUtf8 = Encoding.UTF8.GetBytes(target.Database);
    }

    /// <inheritdoc />
    public ulong LastCommitLsn => 0;

    /// <inheritdoc />
    public long UncommittedChanges => _uncommittedChanges;

    /// <inheritdoc />
    public bool HasUncommittedWork => _inFlight.Count > 0 || _completedEndLsn > _ackedEndLsn;

    /// <inheritdoc />
    public byte[] RedactionKey { get; private set; } = [];

    /// <inheritdoc />
    public ValueTask SlotAcquiredAsync(CancellationToken ct) => ValueTask.CompletedTask; // nothing is skipped: see the remarks

    /// <inheritdoc />
    public string DescribeProgress() => $"publishing to JetStream stream {_stream}, subject {_subject}";

    /// <summary>
    /// Reads from the store what capture needs from it (the redaction key; whether it keeps schema changes) and makes
    /// sure the source's progress row exists for the ingesters to advance. The store is needed at start only.
    /// </summary>
    public async Task InitializeAsync(CancellationToken ct)
    {
        var conn = await _target.Store.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var connDisposal = conn.ConfigureAwait(false);
        var insert = new NpgsqlCommand("INSERT INTO hindsight.progress (slot, source, database) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING", conn);
        await using (insert.ConfigureAwait(false))
        {
            insert.Parameters.AddWithValue(_target.Slot);
            insert.Parameters.AddWithValue(_target.Source);
            insert.Parameters.AddWithValue(_target.Database);
            await insert.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
        var key = new NpgsqlCommand("SELECT value FROM hindsight.settings WHERE name = 'redaction_key'", conn);
        await using (key.ConfigureAwait(false))
            RedactionKey = await key.ExecuteScalarAsync(ct).ConfigureAwait(false) is string hex ? Convert.FromHexString(hex) : [];
        _schemaChanges.Enabled = await Store.StoreMigrations.HasTableAsync(conn, null, "schema_changes", ct).ConfigureAwait(false);
        _spill = new StreamSpill(_target.Slot);
    }

    /// <inheritdoc />
    public async ValueTask AddAsync(ChangeRecord record, uint xid, ulong commitLsn, DateTime committedAt, int ordinal, CancellationToken ct)
    {
        Open(commitLsn, committedAt);
        _scratch.ResetWrittenCount();
        ChangeRowEncoder.Write(_scratch, record, _sourceUtf8, _databaseUtf8, xid, commitLsn, committedAt, ordinal);
        await AppendAsync(_scratch.WrittenMemory, ct).ConfigureAwait(false);
        if (record.PrimaryKey is { } key && record.Operation is not Operation.Delete and not Operation.Truncate)
            _recent.Remember(record.Schema, record.Table, key, record.After);
    }

    private void Open(ulong commitLsn, DateTime committedAt)
    {
        if (_open) return;
        _open = true;
        _openCommitLsn = commitLsn;
        _openCommittedAt = committedAt;
        _openRows = _openParts = 0;
    }

    /// <summary>Adds a row of the open transaction; when it would overfill the message, publishes the whole transactions
    /// before it, and if the open transaction alone is too large, its rows so far as a part.</summary>
    private async ValueTask AppendAsync(ReadOnlyMemory<byte> tuple, CancellationToken ct)
    {
        if (_buffer.WrittenCount > 0 && _buffer.WrittenCount + tuple.Length > _partBytes)
        {
            await PublishCompleteAsync(ct).ConfigureAwait(false);
            if (_openRows > 0 && _buffer.WrittenCount + tuple.Length > _partBytes)
                await PublishOpenPartAsync(last: false, endLsn: 0, ct).ConfigureAwait(false);
        }
        _buffer.Write(tuple.Span);
        _openRows++;
        _uncommittedChanges++;
    }

    /// <inheritdoc />
    public async ValueTask TransactionCompletedAsync(ulong commitLsn, ulong endLsn, DateTime committedAt, int changes, CancellationToken ct)
    {
        await CloseAsync(commitLsn, endLsn, committedAt, ct).ConfigureAwait(false);
        await PublishSchemaChangesAsync(commitLsn, ct).ConfigureAwait(false);
    }

    /// <summary>Ends the open transaction: its last part goes out now if parts of it went before; otherwise its rows join the whole transactions.</summary>
    private async ValueTask CloseAsync(ulong commitLsn, ulong endLsn, DateTime committedAt, CancellationToken ct)
    {
        if (_open && _openParts > 0) await PublishOpenPartAsync(last: true, endLsn, ct).ConfigureAwait(false);
        else if (_open && _openRows > 0)
        {
            if (_completeTransactions == 0) _completeFirstLsn = commitLsn;
            _completeLastLsn = commitLsn;
            _completeEndLsn = endLsn;
            _completeCommittedAt = committedAt;
            _completeTransactions++;
            _completeRows += _openRows;
            _completeBytes = _buffer.WrittenCount;
        }
        _open = false;
        _openRows = _openParts = 0;
        _completedEndLsn = Math.Max(_completedEndLsn, endLsn);
    }

    /// <inheritdoc />
    public ValueTask MarkSkippedAsync(ulong commitLsn, ulong endLsn, CancellationToken ct)
    {
        _completedEndLsn = Math.Max(_completedEndLsn, endLsn);
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public void Stage(ChangeRecord record, uint topXid, uint subXid)
    {
        _scratch.ResetWrittenCount();
        ChangeRowEncoder.Write(_scratch, record, _sourceUtf8, _databaseUtf8, topXid, 0, ChangeRowEncoder.Blank, 0);
        Spill.Append(topXid, subXid, _scratch.WrittenSpan);
    }

    /// <inheritdoc />
    public async ValueTask CommitStagedAsync(uint xid, ulong commitLsn, ulong endLsn, DateTime committedAt, CancellationToken ct)
    {
        Open(commitLsn, committedAt);
        var ordinal = 0;
        foreach (var tuple in Spill.Read(xid))
        {
            ChangeRowEncoder.Complete(tuple.Span, commitLsn, ++ordinal, committedAt);
            await AppendAsync(tuple, ct).ConfigureAwait(false);
        }
        Spill.Remove(xid);
        // Its rows are not read back one by one: rather than keep images that a later change of the same rows would
        // contradict, forget them all (the next fill waits for the store).
        if (ordinal > 0) _recent.Clear();
        _schemaChanges.CommitStaged(xid, commitLsn, committedAt);
        await CloseAsync(commitLsn, endLsn, committedAt, ct).ConfigureAwait(false);
        await PublishSchemaChangesAsync(commitLsn, ct).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public void DiscardStaged(uint xid, uint? subXid)
    {
        Spill.Abort(xid, subXid ?? xid);
        _schemaChanges.DiscardStaged(xid, subXid ?? xid);
    }

    /// <inheritdoc />
    public void AddSchemaChange(SchemaChangeRecord record, uint xid, ulong commitLsn, DateTime committedAt, int ordinal) =>
        _schemaChanges.Add(record, xid, commitLsn, committedAt, ordinal);

    /// <inheritdoc />
    public void StageSchemaChange(SchemaChangeRecord record, uint topXid, uint subXid) => _schemaChanges.Stage(record, topXid, subXid);

    /// <summary>
    /// The row's last image: the open streamed transaction's spilled changes, then what this session published, then the
    /// store, once the ingesters have stored everything this source queued (the store is exact only then).
    /// </summary>
    public async ValueTask<JsonElement?> LastImageAsync(string schema, string table, string primaryKey, uint? stagedXid, CancellationToken ct)
    {
        if (stagedXid is { } xid && Spill.LastImage(xid, schema, table, primaryKey) is { } spilled) return spilled;
        if (_recent.Find(schema, table, primaryKey) is { } recent) return recent;
        await WaitForIngestAsync(schema, table, ct).ConfigureAwait(false);
        var conn = await _target.Store.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var connDisposal = conn.ConfigureAwait(false);
        return await PostgresChangeSink.QueryLastImageAsync(conn, null, _target.Source, schema, table, primaryKey, ct).ConfigureAwait(false);
    }

    /// <summary>Waits until JetStream holds every part published so far and none of this source's messages is left in the
    /// stream (a work queue: a message leaves it when an ingester acknowledges it, after its store commit).</summary>
    private async Task WaitForIngestAsync(string schema, string table, CancellationToken ct)
    {
        await PublishCompleteAsync(ct).ConfigureAwait(false);
        await DrainInFlightAsync(0, 0, ct).ConfigureAwait(false);
        var started = DateTime.UtcNow;
        var said = false;
        while (true)
        {
            if (!await QueueBacklog.AnyAsync(_js, _stream, _subject, ct).ConfigureAwait(false)) return;
            if (!said && DateTime.UtcNow - started > TimeSpan.FromSeconds(5))
            {
                _log.LogInformation("waiting for the ingesters to store what source {Source} has queued: a change of {Schema}.{Table} " +
                    "needs the row's previous image (REPLICA IDENTITY DEFAULT, or an unchanged TOAST value), which only the store holds", _target.Source, schema, table);
                said = true;
            }
            await Task.Delay(TimeSpan.FromMilliseconds(20), ct).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async ValueTask<ulong?> CommitAsync(CancellationToken ct)
    {
        await PublishCompleteAsync(ct).ConfigureAwait(false);
        await DrainInFlightAsync(0, 0, ct).ConfigureAwait(false);
        _uncommittedChanges = 0;
        if (_completedEndLsn <= _ackedEndLsn) return null;
        _ackedEndLsn = _completedEndLsn;
        return _ackedEndLsn;
    }

    /// <summary>Publishes the whole transactions in the buffer as one message, keeping the open transaction's rows.</summary>
    private async ValueTask PublishCompleteAsync(CancellationToken ct)
    {
        if (_completeTransactions == 0) return;
        var body = _buffer.WrittenSpan[.._completeBytes].ToArray();
        var message = new QueueMessage(_target.Source, _target.Database, _target.Slot, _completeFirstLsn, _completeLastLsn, _completeEndLsn,
            _completeCommittedAt, 1, true, _completeTransactions, _completeRows, body);
        var open = _buffer.WrittenSpan[_completeBytes..].ToArray();
        _buffer.ResetWrittenCount();
        _buffer.Write(open);
        _completeBytes = _completeRows = _completeTransactions = 0;
        await PublishAsync(message, ct).ConfigureAwait(false);
    }

    /// <summary>Publishes the open transaction's rows in the buffer (nothing else is there then) as its next part.</summary>
    private async ValueTask PublishOpenPartAsync(bool last, ulong endLsn, CancellationToken ct)
    {
        var message = new QueueMessage(_target.Source, _target.Database, _target.Slot, _openCommitLsn, _openCommitLsn, endLsn,
            _openCommittedAt, ++_openParts, last, last ? 1 : 0, _openRows, _buffer.WrittenSpan.ToArray());
        _buffer.ResetWrittenCount();
        _openRows = 0;
        await PublishAsync(message, ct).ConfigureAwait(false);
    }

    private async ValueTask PublishAsync(QueueMessage message, CancellationToken ct)
    {
        await DrainInFlightAsync(MaxPartsInFlight - 1, MaxBytesInFlight - message.Tuples.Length, ct).ConfigureAwait(false);
        Publish(message.Tuples, message.Headers(), message.MessageId);
    }

    private async ValueTask PublishSchemaChangesAsync(ulong commitLsn, CancellationToken ct)
    {
        var changes = _schemaChanges.TakePending();
        if (changes.Count == 0) return;
        var (headers, body) = SchemaChangeMessage.Create(_target.Source, _target.Database, _target.Slot, commitLsn, changes);
        await DrainInFlightAsync(MaxPartsInFlight - 1, MaxBytesInFlight - body.Length, ct).ConfigureAwait(false);
        Publish(body, headers, (string)headers["Nats-Msg-Id"]!);
    }

    private void Publish(ReadOnlyMemory<byte> body, NatsHeaders headers, string messageId)
    {
        // Not awaited here: messages are pipelined, and their acknowledgements checked in order by DrainInFlightAsync.
        var ack = _js.PublishAsync(_subject, body, headers: headers).AsTask();
        _inFlight.AddLast(new InFlight(ack, messageId, body, headers));
        _inFlightBytes += body.Length;
    }

    /// <summary>Waits for the oldest publications' acknowledgements until at most <paramref name="parts"/> parts and
    /// <paramref name="bytes"/> bytes are in flight; throws when JetStream refused one.</summary>
    private async ValueTask DrainInFlightAsync(int parts, long bytes, CancellationToken ct)
    {
        while (_inFlight.Count > Math.Max(0, parts) || (_inFlight.Count > 0 && _inFlightBytes > Math.Max(0, bytes)))
        {
            var oldest = _inFlight.First!.Value;
            PubAckResponse ack;
            try { ack = await oldest.Ack.WaitAsync(ct).ConfigureAwait(false); }
            catch (NatsJSPublishNoResponseException e)
            {
                throw new QueuePublishException($"no JetStream stream takes subject {_subject} (was stream '{_stream}' deleted? run 'hindsight setup --nats')", e);
            }
            catch (Exception e) when (e is NatsException or TimeoutException)
            {
                throw new QueuePublishException($"JetStream did not acknowledge {oldest.MessageId}: {e.Message}", e);
            }
            // A duplicate is a success: JetStream already holds the part (a resend after a restart).
            if (ack.Error is { } error)
            {
                var refused = string.Create(CultureInfo.InvariantCulture,
                    $"JetStream refused {oldest.MessageId} ({error.Code}, {error.ErrCode}: {error.Description})") + Hint(error);
                if (!Full(error)) throw new QueuePublishException(refused);
                // A full stream: the same message again, after a pause, in this session. Failing the session instead would
                // resend from the slot's position, cut into messages that need not match the ones JetStream already took
                // (so not dropped as duplicates), and refill the stream with them before ever reaching this one.
                await WaitForRoomAsync(refused, ct).ConfigureAwait(false);
                _inFlight.First.Value = oldest with
                {
                    Ack = _js.PublishAsync(_subject, oldest.Body, headers: oldest.Headers, cancellationToken: CancellationToken.None).AsTask(),
                };
                continue;
            }
            _fullSince = null;
            _inFlight.RemoveFirst();
            _inFlightBytes -= oldest.Bytes;
        }
    }

    // JetStream's error code for a publish refused because the stream holds its --max-bytes.
    private const int MaximumBytesExceeded = 10077;

    private static bool Full(ApiError error) =>
        error.ErrCode == MaximumBytesExceeded || error.Description?.Contains("maximum bytes", StringComparison.OrdinalIgnoreCase) == true;

    private DateTime? _fullSince;

    /// <summary>Waits before publishing again into a full stream; says why in the log and the store's progress row once per wait.</summary>
    private async Task WaitForRoomAsync(string refused, CancellationToken ct)
    {
        if (_fullSince is null)
        {
            _fullSince = DateTime.UtcNow;
            _log.LogWarning("{Refused}", refused);
            await PostgresChangeSink.RecordErrorAsync(_target.Store, _target.Slot, _target.Source, refused).ConfigureAwait(false);
        }
        var waited = DateTime.UtcNow - _fullSince.Value;
        await Task.Delay(waited < TimeSpan.FromSeconds(2) ? TimeSpan.FromMilliseconds(100) : TimeSpan.FromSeconds(1), ct).ConfigureAwait(false);
    }

    private static string Hint(ApiError error) =>
        Full(error)
            ? "; the stream is full: capture waits and retries, and acknowledges nothing it could not queue, until the ingesters make room (or its --max-bytes is raised)"
            : "";

    private StreamSpill Spill => _spill ?? throw new InvalidOperationException("sink not initialised");

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        _spill?.Dispose();
        // Publications still in flight are abandoned: what they queued is dropped by its message id when resent.
        foreach (var f in _inFlight) _ = f.Ack.ContinueWith(static t => _ = t.Exception, TaskScheduler.Default);
        _inFlight.Clear();
        return ValueTask.CompletedTask;
    }
}
