using System.Text;
using System.Text.Json;
using Hindsight.Model;
using Hindsight.Sink;

namespace Hindsight.Tests.Stitch;

/// <summary>A call the stitcher made on the sink, in the order it made them.</summary>
internal abstract record SinkCall;

/// <summary><see cref="IChangeSink.AddAsync"/>.</summary>
internal sealed record Added(uint Xid, ulong CommitLsn, DateTime CommittedAt, int Ordinal, ChangeRecord Record) : SinkCall;

/// <summary><see cref="IChangeSink.TransactionCompletedAsync"/>.</summary>
internal sealed record Completed(ulong CommitLsn, ulong EndLsn, DateTime CommittedAt, int Changes) : SinkCall;

/// <summary><see cref="IChangeSink.MarkSkippedAsync"/>.</summary>
internal sealed record Skipped(ulong CommitLsn, ulong EndLsn) : SinkCall;

/// <summary><see cref="IChangeSink.Stage"/>.</summary>
internal sealed record Staged(uint TopXid, uint SubXid, ChangeRecord Record) : SinkCall;

/// <summary><see cref="IChangeSink.CommitStagedAsync"/>.</summary>
internal sealed record StagedCommitted(uint Xid, ulong CommitLsn, ulong EndLsn, DateTime CommittedAt) : SinkCall;

/// <summary><see cref="IChangeSink.DiscardStaged"/>.</summary>
internal sealed record Discarded(uint Xid, uint? SubXid) : SinkCall;

/// <summary><see cref="IChangeSink.LastImageAsync"/>.</summary>
internal sealed record ImageLookedUp(string Schema, string Table, string PrimaryKey, uint? StagedXid) : SinkCall;

/// <summary>A schema change the sink holds: added whole, or staged and then committed with its streamed transaction.</summary>
internal sealed record StoredSchemaChange(uint Xid, ulong CommitLsn, int Ordinal, SchemaChangeRecord Record);

/// <summary><see cref="IChangeSink.CommitAsync"/> and what it acknowledged.</summary>
internal sealed record Committed(ulong? Ack) : SinkCall;

/// <summary>A change the sink holds: added whole, or staged and then committed with its streamed transaction.</summary>
internal sealed record StoredChange(uint Xid, ulong CommitLsn, DateTime CommittedAt, int Ordinal, ChangeRecord Record)
{
    public string Before => Encoding.UTF8.GetString(Record.Before);
    public string After => Encoding.UTF8.GetString(Record.After);
    public string Context => Encoding.UTF8.GetString(Record.Context);
}

/// <summary>
/// An in-memory <see cref="IChangeSink"/> for stitcher tests: it records every call, and keeps what it is given the way
/// the interface describes a sink keeping it (staged changes per streamed transaction, dropped when their subtransaction
/// or transaction is discarded and numbered in staged order when it commits; durable only at <see cref="CommitAsync"/>),
/// so <see cref="LastImageAsync"/> answers from what it holds, plus images seeded as stored before the run.
/// </summary>
internal sealed class RecordingSink(ulong lastCommitLsn = 0) : IChangeSink
{
    private readonly List<(uint Top, uint Sub, ChangeRecord Record)> _staged = [];
    private readonly List<(uint Top, uint Sub, SchemaChangeRecord Record)> _stagedSchema = [];
    private readonly Dictionary<(string Schema, string Table, string Key), string> _earlier = new();
    private ulong _pendingCommitLsn, _pendingEndLsn, _durableEndLsn;
    private long _pendingChanges;
    private int _pendingTransactions, _pendingRows;

    /// <summary>Every call, in order.</summary>
    public List<SinkCall> Calls { get; } = [];

    /// <summary>Every change added or committed from staging, in the order the sink received them.</summary>
    public List<StoredChange> Changes { get; } = [];

    /// <summary>Every schema change added or committed from staging, in order.</summary>
    public List<StoredSchemaChange> SchemaChanges { get; } = [];

    /// <summary>How many of <see cref="Changes"/> a <see cref="CommitAsync"/> made durable.</summary>
    public int DurableChanges { get; private set; }

    /// <inheritdoc />
    public ulong LastCommitLsn { get; private set; } = lastCommitLsn;

    /// <inheritdoc />
    public long UncommittedChanges => _pendingChanges;

    /// <inheritdoc />
    public bool HasUncommittedWork => _pendingTransactions > 0 || _pendingRows > 0 || _pendingEndLsn > _durableEndLsn;

    /// <summary>The acknowledgements <see cref="CommitAsync"/> returned.</summary>
    public IEnumerable<ulong> Acks => Calls.OfType<Committed>().Where(c => c.Ack is not null).Select(c => c.Ack!.Value);

    /// <summary>Seeds the last image of a row stored before this run (the image a restarted worker finds in the store).</summary>
    public RecordingSink WithEarlierImage(string schema, string table, string primaryKey, string afterJson)
    {
        _earlier[(schema, table, primaryKey)] = afterJson;
        return this;
    }

    public ValueTask AddAsync(ChangeRecord record, uint xid, ulong commitLsn, DateTime committedAt, int ordinal, CancellationToken ct)
    {
        Calls.Add(new Added(xid, commitLsn, committedAt, ordinal, record));
        Changes.Add(new StoredChange(xid, commitLsn, committedAt, ordinal, record));
        _pendingRows++;
        return ValueTask.CompletedTask;
    }

    public ValueTask TransactionCompletedAsync(ulong commitLsn, ulong endLsn, DateTime committedAt, int changes, CancellationToken ct)
    {
        Calls.Add(new Completed(commitLsn, endLsn, committedAt, changes));
        MarkCompleted(commitLsn, endLsn, changes);
        return ValueTask.CompletedTask;
    }

    public ValueTask MarkSkippedAsync(ulong commitLsn, ulong endLsn, CancellationToken ct)
    {
        Calls.Add(new Skipped(commitLsn, endLsn));
        _pendingCommitLsn = Math.Max(_pendingCommitLsn, commitLsn);
        _pendingEndLsn = Math.Max(_pendingEndLsn, endLsn);
        return ValueTask.CompletedTask;
    }

    public void AddSchemaChange(SchemaChangeRecord record, uint xid, ulong commitLsn, DateTime committedAt, int ordinal) =>
        SchemaChanges.Add(new StoredSchemaChange(xid, commitLsn, ordinal, record));

    public void StageSchemaChange(SchemaChangeRecord record, uint topXid, uint subXid) => _stagedSchema.Add((topXid, subXid, record));

    public void Stage(ChangeRecord record, uint topXid, uint subXid)
    {
        Calls.Add(new Staged(topXid, subXid, record));
        _staged.Add((topXid, subXid, record));
    }

    public ValueTask CommitStagedAsync(uint xid, ulong commitLsn, ulong endLsn, DateTime committedAt, CancellationToken ct)
    {
        Calls.Add(new StagedCommitted(xid, commitLsn, endLsn, committedAt));
        var ordinal = 0;
        foreach (var s in _staged.Where(s => s.Top == xid))
        {
            Changes.Add(new StoredChange(xid, commitLsn, committedAt, ++ordinal, s.Record));
            _pendingRows++;
        }
        _staged.RemoveAll(s => s.Top == xid);
        var schemaOrdinal = 0;
        foreach (var s in _stagedSchema.Where(s => s.Top == xid)) SchemaChanges.Add(new StoredSchemaChange(xid, commitLsn, ++schemaOrdinal, s.Record));
        _stagedSchema.RemoveAll(s => s.Top == xid);
        MarkCompleted(commitLsn, endLsn, ordinal);
        return ValueTask.CompletedTask;
    }

    public void DiscardStaged(uint xid, uint? subXid)
    {
        Calls.Add(new Discarded(xid, subXid));
        var whole = subXid is null || subXid == xid;
        _staged.RemoveAll(s => s.Top == xid && (whole || s.Sub == subXid));
        _stagedSchema.RemoveAll(s => s.Top == xid && (whole || s.Sub == subXid));
    }

    public ValueTask<JsonElement?> LastImageAsync(string schema, string table, string primaryKey, uint? stagedXid, CancellationToken ct)
    {
        Calls.Add(new ImageLookedUp(schema, table, primaryKey, stagedXid));
        bool Same(ChangeRecord r) => r.Schema == schema && r.Table == table && r.PrimaryKey == primaryKey;

        if (stagedXid is { } top)
        {
            ChangeRecord? found = null;
            foreach (var s in _staged.Where(s => s.Top == top && Same(s.Record)))
                found = s.Record.Operation == Operation.Delete ? null : s.Record;
            if (found is not null) return new(Parse(found.After));
        }
        for (var i = Changes.Count - 1; i >= 0; i--)
        {
            var r = Changes[i].Record;
            if (r.Operation != Operation.Delete && Same(r)) return new(Parse(r.After));
        }
        return new(_earlier.TryGetValue((schema, table, primaryKey), out var earlier) ? Parse(Encoding.UTF8.GetBytes(earlier)) : null);
    }

    public ValueTask<ulong?> CommitAsync(CancellationToken ct)
    {
        ulong? ack = _pendingEndLsn > _durableEndLsn ? _pendingEndLsn : null;
        Calls.Add(new Committed(ack));
        LastCommitLsn = Math.Max(LastCommitLsn, _pendingCommitLsn);
        _durableEndLsn = Math.Max(_durableEndLsn, _pendingEndLsn);
        DurableChanges = Changes.Count;
        _pendingChanges = _pendingTransactions = _pendingRows = 0;
        return new(ack);
    }

    private void MarkCompleted(ulong commitLsn, ulong endLsn, int changes)
    {
        _pendingCommitLsn = Math.Max(_pendingCommitLsn, commitLsn);
        _pendingEndLsn = Math.Max(_pendingEndLsn, endLsn);
        _pendingChanges += changes;
        _pendingTransactions++;
    }

    private static JsonElement Parse(byte[] json)
    {
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.Clone();
    }
}
