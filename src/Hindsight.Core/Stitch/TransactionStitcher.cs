using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Hindsight.Capture;
using Hindsight.Model;
using Hindsight.Sink;

namespace Hindsight.Stitch;

/// <summary>
/// Stitch: follows the transactions in the capture stream, attributes each row change to the
/// context message that precedes it in its transaction (docs/design.md, "The context protocol"), renders the row images and
/// hands change records to the sink. Commits the store between source transactions, and
/// reports each newly durable end LSN so the slot can be acknowledged.
/// </summary>
internal sealed class TransactionStitcher
{
    // Shared and never written to: the image or context of a change that has none.
    private static readonly byte[] EmptyJson = "{}"u8.ToArray();

    private readonly IChangeSink _sink;
    private readonly StitchOptions _options;
    private readonly ColumnRules _rules;
    private readonly RowImageWriter _images;
    private readonly ColumnRenames _renames = new();
    private readonly Dictionary<uint, StreamedTransaction> _streamed = new();
    private OpenTransaction? _open;
    private uint _streamingXid;
    private DateTime _lastCommit = DateTime.MinValue;
    private bool _readerIdle; // the last batch ended with ReaderIdleEvent: the reader is waiting for the source
    // Cancelled when the open store transaction is due for its commit. One per store transaction, not one per wait: a
    // timer armed for every source transaction woke the runtime's timer thread about once per transaction.
    private CancellationTokenSource? _commitDue;
    private DateTime _commitDueAt;

    /// <summary>Creates a stitcher writing to <paramref name="sink"/> (already initialised).</summary>
    /// <param name="sink">Where change records go.</param>
    /// <param name="options">Commit grouping and the context size limit.</param>
    /// <param name="rules">Ignored and redacted columns.</param>
    /// <param name="redactionKey">The key that makes redacted values comparable (the store's).</param>
    public TransactionStitcher(IChangeSink sink, StitchOptions options, ColumnRules rules, byte[] redactionKey)
    {
        _sink = sink;
        _options = options;
        _rules = rules;
        _images = new RowImageWriter(redactionKey);
    }

    /// <summary>Longest time complete transactions wait in an open store transaction under sustained load.</summary>
    public TimeSpan MaxCommitDelay { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Consumes events until the channel completes or <paramref name="ct"/> is cancelled.</summary>
    /// <param name="events">The capture channel.</param>
    /// <param name="durable">Called with each end LSN that became durable in the store.</param>
    /// <param name="ct">Stops the loop.</param>
    /// <remarks>
    /// Group commit: between source transactions, the store transaction is committed once the stream has gone quiet,
    /// but no sooner than <see cref="StitchOptions.CommitInterval"/> after the previous store commit. A transaction
    /// arriving after a quiet spell is committed at once; under a steady stream of small transactions, the ones that
    /// arrive within an interval share one store commit instead of paying for one each (round trips, a commit record,
    /// the progress row update, and the wake-ups of both processes). "Quiet" is the reader's word
    /// (<see cref="ReaderIdleEvent"/>), not an empty channel: catching up on a backlog, the channel runs dry for moments
    /// while the reader decodes, and a durable store commit at each of them cost more than the decoding
    /// (BENCHMARKS-log.md, "Batches from Capture to Stitch").
    /// </remarks>
    public async Task RunAsync(ChannelReader<CaptureEvent[]> events, Action<ulong> durable, CancellationToken ct)
    {
        try
        {
            await ConsumeAsync(events, durable, ct).ConfigureAwait(false);
        }
        finally
        {
            DisarmCommitDue();
        }
    }

    private async Task ConsumeAsync(ChannelReader<CaptureEvent[]> events, Action<ulong> durable, CancellationToken ct)
    {
        while (true)
        {
            if (events.TryRead(out var batch))
            {
                foreach (var ev in batch)
                {
                    _readerIdle = ev is ReaderIdleEvent;
                    if (_readerIdle) continue;
                    await HandleAsync(ev, ct).ConfigureAwait(false);
                    // Between transactions, a large or long-open store transaction is committed even under a stream
                    // that never pauses: memory and the time to acknowledge stay bounded.
                    if (_open is null && _sink.HasUncommittedWork &&
                        (_sink.UncommittedChanges >= _options.MaxChangesPerCommit || DateTime.UtcNow - _lastCommit >= MaxCommitDelay))
                        await CommitAsync(durable, ct).ConfigureAwait(false);
                }
                continue;
            }
            if (_open is null && _sink.HasUncommittedWork)
            {
                // The reader waits for the source, so the stream is quiet between transactions: commit now, or when the
                // interval since the last commit is over, unless more events arrive first (they join this store
                // transaction). The reader still busy (catching up on a backlog): its next transaction joins this store
                // transaction too, unless it takes longer than the longest commit delay.
                var due = _lastCommit + (_readerIdle ? _options.CommitInterval : MaxCommitDelay);
                if (due <= DateTime.UtcNow || !await WaitToReadAsync(events, due, ct).ConfigureAwait(false)) await CommitAsync(durable, ct).ConfigureAwait(false);
                continue;
            }
            if (!await events.WaitToReadAsync(ct).ConfigureAwait(false)) return;
        }
    }

    /// <summary>Waits for an event until <paramref name="due"/>; false when that time came first or the channel completed.</summary>
    private async ValueTask<bool> WaitToReadAsync(ChannelReader<CaptureEvent[]> events, DateTime due, CancellationToken ct)
    {
        if (_commitDue is null || _commitDueAt != due)
        {
            DisarmCommitDue();
            _commitDue = CancellationTokenSource.CreateLinkedTokenSource(ct);
            _commitDueAt = due;
            var wait = due - DateTime.UtcNow;
            if (wait > TimeSpan.Zero) _commitDue.CancelAfter(wait);
            else _commitDue.Cancel();
        }
        try
        {
            return await events.WaitToReadAsync(_commitDue.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return false;
        }
    }

    private void DisarmCommitDue()
    {
        _commitDue?.Dispose();
        _commitDue = null;
    }

    private async Task CommitAsync(Action<ulong> durable, CancellationToken ct)
    {
        DisarmCommitDue();
        var ack = await _sink.CommitAsync(ct).ConfigureAwait(false);
        _lastCommit = DateTime.UtcNow;
        if (ack is { } lsn) durable(lsn);
    }

    /// <summary>Applies one event.</summary>
    public async ValueTask HandleAsync(CaptureEvent ev, CancellationToken ct)
    {
        switch (ev)
        {
            case BeginEvent b:
                _open = new OpenTransaction(b.Xid, b.CommitLsn, b.CommittedAt, skip: b.CommitLsn <= _sink.LastCommitLsn);
                break;
            case CommitEvent c:
                if (_open is { Skip: true }) await _sink.MarkSkippedAsync(c.CommitLsn, c.EndLsn, ct).ConfigureAwait(false);
                else if (_open is not null)
                {
                    // Held to the end of the transaction: a migration's history row comes after its schema changes.
                    foreach (var record in _open.SchemaChanges ?? [])
                        _sink.AddSchemaChange(MigrationHistory.Attribute(record, _open.Migrations ?? []), _open.Xid, _open.CommitLsn, _open.CommittedAt, ++_open.SchemaOrdinal);
                    await _sink.TransactionCompletedAsync(c.CommitLsn, c.EndLsn, c.CommittedAt, _open.Ordinal, ct).ConfigureAwait(false);
                }
                _open = null;
                break;
            case RowEvent row when row.StreamXid is { } subXid:
            {
                var streamed = Streamed(_streamingXid);
                var context = streamed.ContextFor(subXid);
                StageSchemaChanges(streamed, _streamingXid, subXid);
                var record = await RenderAsync(row, context, _streamingXid, ct).ConfigureAwait(false);
                _sink.Stage(record, _streamingXid, subXid);
                break;
            }
            case RowEvent row:
            {
                var tx = _open ?? throw new InvalidOperationException("row change outside a transaction");
                if (tx.Skip) break;
                if (MigrationHistory.InsertedId(row) is { } migration) (tx.Migrations ??= []).Add((row.Position, migration));
                var record = await RenderAsync(row, tx.Context, null, ct).ConfigureAwait(false);
                await _sink.AddAsync(record, tx.Xid, tx.CommitLsn, tx.CommittedAt, ++tx.Ordinal, ct).ConfigureAwait(false);
                break;
            }
            case TruncateEvent t:
            {
                var context = t.StreamXid is { } truncatingXid ? Streamed(_streamingXid).ContextFor(truncatingXid) : _open?.Context ?? EmptyJson;
                foreach (var relation in t.Relations)
                {
                    var record = new ChangeRecord
                    {
                        Schema = relation.Schema, Table = relation.Table, PrimaryKey = null, Operation = Operation.Truncate,
                        Before = EmptyJson, After = EmptyJson, Position = t.Position, QueuedAt = t.QueuedAt,
                        Context = context,
                    };
                    if (t.StreamXid is { } sub)
                        _sink.Stage(record, _streamingXid, sub);
                    else if (_open is { Skip: false } tx)
                        await _sink.AddAsync(record, tx.Xid, tx.CommitLsn, tx.CommittedAt, ++tx.Ordinal, ct).ConfigureAwait(false);
                }
                break;
            }
            case ContextMessageEvent m:
            {
                var context = Encoding.UTF8.GetBytes(ContextPayload.ToContextJson(m.Prefix, m.Payload, m.Length, _options.ContextSizeLimit));
                if (m.StreamXid is not null) Streamed(_streamingXid).AddContext(context);
                else if (_open is not null) _open.Context = context;
                break;
            }
            case SchemaMessageEvent m:
            {
                var context = m.StreamXid is not null ? Streamed(_streamingXid).CurrentContext : _open?.Context ?? EmptyJson;
                if (m.Payload is null || SchemaMessage.Parse(m.Payload, context, m.Position) is not { } record) break;
                if (record.Columns is not null && JsonNode.Parse(record.Columns) is JsonArray columns) ObserveColumns((uint)record.Relid, columns);
                if (m.StreamXid is null)
                {
                    if (_open is { Skip: false } tx) (tx.SchemaChanges ??= []).Add(record);
                }
                // pgoutput tags a streamed message with its top transaction only; the trigger names its subtransaction.
                else if (record.Xid is { } subXid) _sink.StageSchemaChange(record, _streamingXid, subXid);
                else Streamed(_streamingXid).PendingSchemaChanges.Add(record);
                break;
            }
            case StreamStartEvent s:
                _streamingXid = s.Xid;
                break;
            case StreamStopEvent:
                break;
            case StreamCommitEvent sc:
                if (sc.CommitLsn <= _sink.LastCommitLsn)
                {
                    _sink.DiscardStaged(sc.Xid, null);
                    await _sink.MarkSkippedAsync(sc.CommitLsn, sc.EndLsn, ct).ConfigureAwait(false);
                }
                else
                {
                    // Schema changes no later change claimed stay with the top transaction.
                    if (_streamed.TryGetValue(sc.Xid, out var committed)) StageSchemaChanges(committed, sc.Xid, sc.Xid);
                    await _sink.CommitStagedAsync(sc.Xid, sc.CommitLsn, sc.EndLsn, sc.CommittedAt, ct).ConfigureAwait(false);
                }
                _streamed.Remove(sc.Xid);
                break;
            case StreamAbortEvent sa:
                _sink.DiscardStaged(sa.Xid, sa.SubXid);
                if (sa.SubXid == sa.Xid) _streamed.Remove(sa.Xid);
                else if (_streamed.TryGetValue(sa.Xid, out var aborted)) aborted.AbortSubtransaction(sa.SubXid);
                break;
        }
    }

    /// <summary>Takes a table's columns after a schema change (a column map as stored), in WAL order: from the WAL, or,
    /// at start, from the store.</summary>
    public void ObserveColumns(uint relationId, JsonArray columns) => _renames.Observe(relationId, columns);

    /// <summary>Stages the schema changes waiting in a streamed transaction as (sub)transaction <paramref name="subXid"/>'s.
    /// Only for messages that do not name their subtransaction: like a context message, such a message is given to the
    /// subtransaction of the next change.</summary>
    private void StageSchemaChanges(StreamedTransaction streamed, uint topXid, uint subXid)
    {
        if (streamed.PendingSchemaChanges.Count == 0) return;
        foreach (var record in streamed.PendingSchemaChanges) _sink.StageSchemaChange(record, topXid, subXid);
        streamed.PendingSchemaChanges.Clear();
    }

    private StreamedTransaction Streamed(uint xid)
    {
        if (!_streamed.TryGetValue(xid, out var tx)) _streamed[xid] = tx = new StreamedTransaction();
        return tx;
    }

    private async ValueTask<ChangeRecord> RenderAsync(RowEvent row, byte[] context, uint? stagedXid, CancellationToken ct)
    {
        var relation = row.Relation;
        var actions = _rules.IsEmpty ? null : _rules.For(relation);
        var keySource = row.New ?? row.Old!;
        var primaryKey = _images.PrimaryKey(relation, keySource, row.Old);

        // The last stored image stands in where pgoutput sends no data: unchanged TOAST values that the
        // old tuple cannot supply, and the before-image under REPLICA IDENTITY DEFAULT.
        JsonElement? lastImage = null;
        var needsLast = primaryKey is not null && (NeedsToastFill(row) || row.Operation != Operation.Create && (row.Old is null || row.OldIsKeyOnly));
        if (needsLast && await _sink.LastImageAsync(relation.Schema, relation.Table, primaryKey!, stagedXid, ct).ConfigureAwait(false) is { } last)
            lastImage = _renames.Apply(relation, last); // written perhaps before a schema change: under the columns now

        byte[] before;
        if (row.Old is not null && !row.OldIsKeyOnly)
            before = _images.Render(relation, row.Old, actions);
        else if (lastImage is { } previous && row.Operation != Operation.Create)
            before = Encoding.UTF8.GetBytes(previous.GetRawText());
        else if (row.Old is not null) // key tuple and no stored image: the key columns are all we know
            before = _images.Render(relation, row.Old, actions, presentOnly: KeyColumns(relation, row.Old));
        else
            before = EmptyJson;

        var after = row.New is null ? EmptyJson
            : _images.Render(relation, row.New, actions, toastSource: row.OldIsKeyOnly ? null : row.Old, fallbackImage: lastImage);

        return new ChangeRecord
        {
            Schema = relation.Schema, Table = relation.Table, PrimaryKey = primaryKey, Operation = row.Operation,
            Before = before, After = after, Context = context, Position = row.Position, QueuedAt = row.QueuedAt,
        };
    }

    private static bool NeedsToastFill(RowEvent row)
    {
        if (row.New is null) return false;
        for (var i = 0; i < row.New.Length; i++)
        {
            if (row.New[i].Kind != ColumnValueKind.UnchangedToast) continue;
            if (row.Old is null || row.OldIsKeyOnly || row.Old[i].Kind == ColumnValueKind.UnchangedToast) return true;
        }
        return false;
    }

    private static bool[] KeyColumns(RelationInfo relation, ColumnValue[] keyTuple)
    {
        var present = new bool[keyTuple.Length];
        foreach (var i in relation.PrimaryKey) present[i] = true;
        // Replica identity may be a unique index other than the primary key: keep whatever carries data.
        for (var i = 0; i < keyTuple.Length; i++) present[i] |= keyTuple[i].Kind == ColumnValueKind.Text;
        return present;
    }

    private sealed class OpenTransaction(uint xid, ulong commitLsn, DateTime committedAt, bool skip)
    {
        public uint Xid { get; } = xid;
        public ulong CommitLsn { get; } = commitLsn;
        public DateTime CommittedAt { get; } = committedAt;
        public bool Skip { get; } = skip;
        public int Ordinal { get; set; }
        public byte[] Context { get; set; } = EmptyJson;
        public int SchemaOrdinal { get; set; }
        // Created on first use: most transactions have neither.
        public List<SchemaChangeRecord>? SchemaChanges { get; set; }
        public List<(ulong Position, string Id)>? Migrations { get; set; }
    }

    /// <remarks>
    /// Keeps each context message with the subtransaction it belongs to, so that a subtransaction's messages roll back
    /// with it, as they do when PostgreSQL decodes the same transaction whole. pgoutput tags a streamed message with the
    /// top transaction's id, not its subtransaction's, so a message is given to the subtransaction of the next change
    /// in the stream: the statements after it in the same (sub)transaction. A message that no change of its own
    /// subtransaction follows (a savepoint that wrote only the message before it rolled back) cannot be told apart, and
    /// stays.
    /// </remarks>
    private sealed class StreamedTransaction
    {
        private readonly List<(uint SubXid, byte[] Context)> _messages = [];
        private byte[]? _unclaimed;

        /// <summary>A message waits for the next change to say whose it is; a later message replaces it.</summary>
        public void AddContext(byte[] context) => _unclaimed = context;

        /// <summary>The context of a change of subtransaction <paramref name="subXid"/>, which claims a waiting message.</summary>
        public byte[] ContextFor(uint subXid)
        {
            if (_unclaimed is not null)
            {
                // A later message of the same subtransaction supersedes the earlier one, and rolls back with it: keeping
                // one per run of a subtransaction bounds the list by subtransaction switches, not by messages.
                if (_messages.Count > 0 && _messages[^1].SubXid == subXid) _messages[^1] = (subXid, _unclaimed);
                else _messages.Add((subXid, _unclaimed));
                _unclaimed = null;
            }
            return _messages.Count == 0 ? EmptyJson : _messages[^1].Context;
        }

        /// <summary>Schema changes that wait for the next change to say whose they are.</summary>
        public List<SchemaChangeRecord> PendingSchemaChanges { get; } = [];

        /// <summary>The context in force now: a waiting message, else the last one claimed.</summary>
        public byte[] CurrentContext => _unclaimed ?? (_messages.Count == 0 ? EmptyJson : _messages[^1].Context);

        public void AbortSubtransaction(uint subXid) => _messages.RemoveAll(m => m.SubXid == subXid);
    }
}
