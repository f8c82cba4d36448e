using System.Threading.Channels;
using Hindsight.Context;
using Hindsight.Model;
using Npgsql.Replication;
using Npgsql.Replication.PgOutput;
using Npgsql.Replication.PgOutput.Messages;

namespace Hindsight.Capture;

/// <summary>
/// Capture: reads pgoutput messages from the slot and copies each one into a <see cref="CaptureEvent"/>,
/// handed in batches (<see cref="CaptureBatcher"/>) to a bounded channel, which Stitch consumes on another thread.
/// The channel's bound is what keeps memory flat when the store is slower than the WAL.
/// </summary>
/// <remarks>
/// pgoutput is forward-only in Npgsql: a message is invalid once the next one is read, and every
/// value must be read once, old tuple before new tuple. So everything is copied here, in order.
/// </remarks>
/// <param name="connection">An open replication connection to the source.</param>
/// <param name="relations">Column names and types of the tables pgoutput describes.</param>
/// <param name="slot">The logical replication slot to read.</param>
/// <param name="publication">The publication that selects the tables.</param>
/// <param name="contextSizeLimit">Context messages larger than this (bytes) are not copied whole: only their length is kept.</param>
/// <param name="relationSchema">Where schema changes come from relation messages (a source without setup's schema change
/// trigger); null when the trigger sends them.</param>
/// <param name="streaming">Whether large transactions are streamed while still open (pgoutput's <c>streaming</c>).</param>
/// <param name="readPause">How long the reader sleeps between reads while the stream is busy (<see cref="ReadPacer"/>).</param>
internal sealed class ReplicationReader(
    LogicalReplicationConnection connection, RelationCatalog relations, string slot, string publication, int contextSizeLimit,
    RelationSchema? relationSchema = null, bool streaming = true, TimeSpan readPause = default)
{
    /// <summary>Prefixes of logical decoding messages that carry application context (docs/design.md, "The context protocol").</summary>
    public static readonly IReadOnlySet<string> ContextPrefixes = new HashSet<string>(StringComparer.Ordinal) { HindsightProtocol.Prefix, HindsightProtocol.BemiPrefix };

    /// <summary>Reads until cancelled or the connection fails, writing events to <paramref name="output"/>.</summary>
    public async Task RunAsync(ChannelWriter<CaptureEvent[]> output, CancellationToken ct)
    {
        var replicationSlot = new PgOutputReplicationSlot(slot);
        var replicationOptions = new PgOutputReplicationOptions(
            publication, PgOutputProtocolVersion.V2, binary: false,
            streamingMode: streaming ? PgOutputStreamingMode.On : PgOutputStreamingMode.Off, messages: true);

        var batcher = new CaptureBatcher();
        var pacer = new ReadPacer(readPause);
        var messages = connection.StartReplication(replicationSlot, replicationOptions, ct).GetAsyncEnumerator(ct);
        await using var messagesDisposal = messages.ConfigureAwait(false);
        while (true)
        {
            // What was read so far is handed over once the next read has begun: whether it had to wait for the source
            // tells Stitch that the stream has gone quiet.
            var next = messages.MoveNextAsync();
            var waits = !next.IsCompleted;
            if (waits) pacer.WaitBegins();
            if (batcher.TakeReady(nextIsThere: !waits) is { } batch)
            {
                try { await output.WriteAsync(batch, ct).ConfigureAwait(false); }
                catch (OperationCanceledException)
                {
                    // The read under way ends with the same token; the enumerator can only be disposed once it has.
                    try { await next.ConfigureAwait(false); } catch (Exception) { /* how that read ended does not matter now */ }
                    throw;
                }
            }
            if (!await next.ConfigureAwait(false)) break;
            if (waits) pacer.WaitEnded();
            if (await CopyAsync(messages.Current, ct).ConfigureAwait(false) is { } ev) batcher.Add(ev);
            if (pacer.TakePause())
            {
                // The stream is busy: let more of it arrive and read it in one go. What is complete goes to Stitch
                // first, so the pause does not hold it back (not marked idle: the source is not what is waited for).
                if (batcher.TakeReady(nextIsThere: true) is { } complete) await output.WriteAsync(complete, ct).ConfigureAwait(false);
                await Task.Delay(pacer.Pause, ct).ConfigureAwait(false);
            }
        }
    }

    private async ValueTask<CaptureEvent?> CopyAsync(PgOutputReplicationMessage message, CancellationToken ct)
    {
        var position = (ulong)message.WalStart;
        switch (message)
        {
            case BeginMessage b:
                return new BeginEvent(b.TransactionXid, (ulong)b.TransactionFinalLsn, b.TransactionCommitTimestamp);
            case CommitMessage c:
                return new CommitEvent((ulong)c.CommitLsn, (ulong)c.TransactionEndLsn, c.TransactionCommitTimestamp);
            case RelationMessage r:
                await relations.RegisterAsync(r, ct).ConfigureAwait(false);
                return relationSchema is not null && await relationSchema.ChangedAsync(r, ct).ConfigureAwait(false) is { } described
                    ? new SchemaMessageEvent(r.TransactionXid, described, position)
                    : null;
            case InsertMessage i:
                return new RowEvent(i.TransactionXid, relations.Get(i.Relation.RelationId), Operation.Create,
                    null, false, await ReadTupleAsync(i.NewRow, ct).ConfigureAwait(false), position, DateTime.UtcNow);
            case FullUpdateMessage fu:
            {
                var old = await ReadTupleAsync(fu.OldRow, ct).ConfigureAwait(false);
                return new RowEvent(fu.TransactionXid, relations.Get(fu.Relation.RelationId), Operation.Update,
                    old, false, await ReadTupleAsync(fu.NewRow, ct).ConfigureAwait(false), position, DateTime.UtcNow);
            }
            case IndexUpdateMessage iu:
            {
                var key = await ReadTupleAsync(iu.Key, ct).ConfigureAwait(false);
                return new RowEvent(iu.TransactionXid, relations.Get(iu.Relation.RelationId), Operation.Update,
                    key, true, await ReadTupleAsync(iu.NewRow, ct).ConfigureAwait(false), position, DateTime.UtcNow);
            }
            case UpdateMessage u: // DefaultUpdateMessage: no old tuple
                return new RowEvent(u.TransactionXid, relations.Get(u.Relation.RelationId), Operation.Update,
                    null, false, await ReadTupleAsync(u.NewRow, ct).ConfigureAwait(false), position, DateTime.UtcNow);
            case FullDeleteMessage fd:
                return new RowEvent(fd.TransactionXid, relations.Get(fd.Relation.RelationId), Operation.Delete,
                    await ReadTupleAsync(fd.OldRow, ct).ConfigureAwait(false), false, null, position, DateTime.UtcNow);
            case KeyDeleteMessage kd:
                return new RowEvent(kd.TransactionXid, relations.Get(kd.Relation.RelationId), Operation.Delete,
                    await ReadTupleAsync(kd.Key, ct).ConfigureAwait(false), true, null, position, DateTime.UtcNow);
            case TruncateMessage t:
                return new TruncateEvent(t.TransactionXid,
                    t.Relations.Select(r => relations.Get(r.RelationId)).ToArray(), position, DateTime.UtcNow);
            case LogicalDecodingMessage m:
                return await CopyMessageAsync(m, position, ct).ConfigureAwait(false);
            case StreamStartMessage ss:
                return new StreamStartEvent(ss.TransactionXid, ss.StreamSegmentIndicator == 1);
            case StreamStopMessage:
                return new StreamStopEvent();
            case StreamCommitMessage sc:
                return new StreamCommitEvent(sc.TransactionXid, (ulong)sc.CommitLsn, (ulong)sc.TransactionEndLsn,
                    sc.TransactionCommitTimestamp);
            case StreamAbortMessage sa:
                return new StreamAbortEvent(sa.TransactionXid, sa.SubtransactionXid);
            case TypeMessage t:
                // Sent before a relation that uses a user type: that type may have changed (ALTER TYPE).
                relations.Types.Invalidate(t.TypeId);
                return null;
            default:
                return null; // Origin messages carry nothing we store.
        }
    }

    private async ValueTask<CaptureEvent?> CopyMessageAsync(LogicalDecodingMessage m, ulong position, CancellationToken ct)
    {
        // The payload must be consumed either way, or the protocol loses sync (Npgsql does not skip an unread payload).
        var transactional = (m.Flags & 1) == 1;
        var isContext = transactional && ContextPrefixes.Contains(m.Prefix);
        var isSchema = transactional && m.Prefix == SchemaMessage.Prefix;
        var keep = isContext ? contextSizeLimit + 1L : isSchema ? SchemaMessage.MaxLength + 1L : 0L;
        var buffer = new byte[8192];
        var kept = new MemoryStream();
        long total = 0;
        int read;
        while ((read = await m.Data.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
        {
            var room = (int)Math.Min(read, keep - kept.Length);
            if (room > 0) kept.Write(buffer, 0, room);
            total += read;
        }
        if (isSchema)
        {
            if (total > SchemaMessage.MaxLength) return new SchemaMessageEvent(m.TransactionXid, null, position);
            var payload = kept.ToArray();
            // The key and columns at this point of the WAL, for the relation messages that follow (read here, in WAL order).
            if (SchemaMessage.Describe(payload) is { } described)
            {
                if (described.Key is { } key) relations.RememberKey(described.Relid, key);
                if (described.Columns is { } columns) relationSchema?.Remember(described.Relid, columns);
            }
            return new SchemaMessageEvent(m.TransactionXid, payload, position);
        }
        return isContext ? new ContextMessageEvent(m.TransactionXid, m.Prefix, kept.ToArray(), total) : null;
    }

    private static async ValueTask<ColumnValue[]> ReadTupleAsync(ReplicationTuple tuple, CancellationToken ct)
    {
        var values = new ColumnValue[tuple.NumColumns];
        var i = 0;
        await foreach (var value in tuple.ConfigureAwait(false))
        {
            values[i++] = value.Kind switch
            {
                TupleDataKind.Null => ColumnValue.Null,
                TupleDataKind.UnchangedToastedValue => ColumnValue.UnchangedToast,
                _ => new ColumnValue(ColumnValueKind.Text, await value.Get<string>(ct).ConfigureAwait(false)),
            };
        }
        return values;
    }
}
