using System.Buffers;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Hindsight.Chain;
using Hindsight.Diagnostics;
using Hindsight.Model;
using Npgsql;
using NpgsqlTypes;

namespace Hindsight.Sink;

/// <summary>
/// Sink: writes stitched changes into the PostgreSQL change store, exactly once.
/// </summary>
/// <remarks>
/// Changes are copied (binary COPY, in batches that bound memory) into one open store transaction,
/// which is committed only between source transactions, together with the worker's progress row
/// (last source commit LSN stored). Only then is the slot acknowledged, with that commit's end LSN.
/// A small store transaction that has sent nothing yet is written and committed in one round trip
/// instead (<see cref="OneTripCommit"/>).
/// After a crash PostgreSQL resends every transaction not acknowledged; those whose commit LSN is
/// not above the stored progress are skipped, so nothing is stored twice, and the unique key
/// (source, commit_lsn, ordinal) would refuse it if anything tried. Progress is the source's own: two sources never
/// share it, even with the same slot and database names.
/// </remarks>
internal sealed class PostgresChangeSink : ICaptureSink
{

    private readonly NpgsqlDataSource _store;
    private readonly string _slot;
    private readonly string _source;
    private readonly string _database;
    private readonly int _batchSize;
    private readonly byte[] _sourceUtf8;
    private readonly byte[] _databaseUtf8;
    private readonly ArrayBufferWriter<byte> _batch = new(1 << 16);
    private readonly ArrayBufferWriter<byte> _scratch = new(4096);
    private int _batchRows;
    private StreamSpill? _spill;
    private NpgsqlConnection? _conn;
    private NpgsqlTransaction? _tx;
    private NpgsqlCommand? _progressUpdate;
    private NpgsqlBatch? _oneTripBatch, _oneTripChainedBatch;
    private NpgsqlCommand? _chainInsert;
    // The source's chain (docs/verification.md): a block per store commit, in the same store transaction. Null when
    // the store keeps none.
    private ChainWriter? _chain;
    // Where the tuples in _batch start that the chain has not hashed yet. They are hashed on another thread while the
    // batch is copied into the store (FlushAsync), or just before a one-trip commit: off the path of stitching and I/O.
    private readonly List<int> _unhashed = [];
    private readonly OneTripCommit _oneTrip = new();
    private readonly SchemaChangeWriter _schemaChanges = new();

    // What the open store transaction will make durable when it commits.
    private ulong _txLastCommitLsn, _txLastEndLsn;
    private DateTime? _txLastCommittedAt;
    private long _txChanges, _txTransactions;
    private readonly HashSet<ActivityContext> _traceLinks = [];
    // The traces named by the staged changes of streamed transactions, by transaction and subtransaction: linked at
    // their commit, dropped with an aborted (sub)transaction.
    private readonly Dictionary<uint, Dictionary<uint, HashSet<ActivityContext>>> _stagedTraceLinks = [];

    /// <summary>Creates a sink for the worker reading <paramref name="slot"/> of source <paramref name="source"/> (registered in the
    /// store; see <see cref="Store.SourceRegistry"/>), whose database is named <paramref name="database"/>.</summary>
    public PostgresChangeSink(NpgsqlDataSource store, string slot, string source, string database, int batchSize)
    {
        _store = store;
        _slot = slot;
        _source = source;
        _database = database;
        _sourceUtf8 = Encoding.UTF8.GetBytes(source);
        _databaseUtf8 = Encoding.UTF8.GetBytes(database);
        _batchSize = Math.Max(1, batchSize);
    }

    /// <summary>The commit LSN of the last source transaction durable in the store (0 when none).</summary>
    public ulong LastCommitLsn { get; private set; }

    /// <inheritdoc />
    public string DescribeProgress() => $"stored up to commit {new NpgsqlLogSequenceNumber(LastCommitLsn)}";

    /// <summary>The end LSN of the last source transaction durable in the store: safe to acknowledge.</summary>
    public ulong LastEndLsn { get; private set; }

    /// <summary>Changes written in the open store transaction, not yet committed.</summary>
    public long UncommittedChanges => _txChanges;

    /// <summary>True when the open store transaction holds anything a commit would make durable.</summary>
    public bool HasUncommittedWork => _txTransactions > 0 || _batchRows > 0 || _txLastEndLsn > LastEndLsn || _schemaChanges.HasPending;

    /// <summary>The key that makes redacted values comparable, from <c>hindsight.settings</c>.</summary>
    public byte[] RedactionKey { get; private set; } = [];

    /// <summary>Opens the store connection and reads progress; starts with no spilled streamed transactions.</summary>
    public async Task InitializeAsync(CancellationToken ct)
    {
        _conn = await _store.OpenConnectionAsync(ct).ConfigureAwait(false);
        // The slot is acknowledged as soon as a store commit returns, and the server saves the slot's position to
        // disk soon after. With synchronous_commit off (a common server setting) a commit returns before its WAL is
        // flushed, so a crash could keep the acknowledgement and lose the changes: store commits must be durable.
        {
            var cmd = new NpgsqlCommand(
                "SELECT set_config('synchronous_commit', 'local', false) WHERE current_setting('synchronous_commit') = 'off'", _conn);
            await using (cmd.ConfigureAwait(false))
                await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
        {
            var cmd = new NpgsqlCommand(
                "INSERT INTO hindsight.progress (slot, source, database) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING", _conn);
            await using (cmd.ConfigureAwait(false))
            {
                cmd.Parameters.AddWithValue(_slot);
                cmd.Parameters.AddWithValue(_source);
                cmd.Parameters.AddWithValue(_database);
                await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            }
        }
        _spill = new StreamSpill(_slot);
        _schemaChanges.Enabled = await Store.StoreMigrations.HasTableAsync(_conn, null, "schema_changes", ct).ConfigureAwait(false);
        await ReadProgressAsync(ct).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public ValueTask SlotAcquiredAsync(CancellationToken ct) =>
        _tx is null && _batchRows == 0 ? new ValueTask(ReadProgressAsync(ct)) : ValueTask.CompletedTask;

    /// <summary>Reads what the store holds of this source (its progress) and the redaction key.</summary>
    private async Task ReadProgressAsync(CancellationToken ct)
    {
        {
            var cmd = new NpgsqlCommand(
                "SELECT last_commit_lsn, last_end_lsn, (SELECT value FROM hindsight.settings WHERE name = 'redaction_key') " +
                "FROM hindsight.progress WHERE slot = $1 AND source = $2", _conn);
            await using (cmd.ConfigureAwait(false))
            {
                cmd.Parameters.AddWithValue(_slot);
                cmd.Parameters.AddWithValue(_source);
                var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
                await using var rDisposal = r.ConfigureAwait(false);
                await r.ReadAsync(ct).ConfigureAwait(false);
                LastCommitLsn = (ulong)r.GetInt64(0);
                LastEndLsn = (ulong)r.GetInt64(1);
                RedactionKey = r.IsDBNull(2) ? [] : Convert.FromHexString(r.GetString(2));
            }
        }
        _chain = await ChainWriter.OpenAsync(_conn!, _source, ct).ConfigureAwait(false);
    }

    /// <summary>Adds a change of a transaction sent whole (its commit LSN and time are known from BEGIN).</summary>
    public async ValueTask AddAsync(ChangeRecord record, uint xid, ulong commitLsn, DateTime committedAt, int ordinal, CancellationToken ct)
    {
        if (HindsightTracing.Enabled && _traceLinks.Count < HindsightTracing.MaxLinks && HindsightTracing.TraceOf(record.Context) is { } trace)
            _traceLinks.Add(trace);
        var start = _batch.WrittenCount;
        ChangeRowEncoder.Write(_batch, record, _sourceUtf8, _databaseUtf8, xid, commitLsn, committedAt, ordinal);
        if (_chain is not null) _unhashed.Add(start);
        _oneTrip.Add(record, xid, commitLsn, committedAt, ordinal);
        await RowAddedAsync(ct).ConfigureAwait(false);
    }

    private async ValueTask RowAddedAsync(CancellationToken ct)
    {
        if (++_batchRows >= _batchSize || _batch.WrittenCount >= ChangeRowEncoder.MaxBatchBytes) await FlushAsync(ct).ConfigureAwait(false);
    }

    /// <summary>Keeps a change of a streamed, not yet committed transaction (spilled to a local file).</summary>
    public void Stage(ChangeRecord record, uint topXid, uint subXid)
    {
        // Encoded now, with the commit LSN, ordinal and time left blank: they are filled in place at commit.
        _scratch.ResetWrittenCount();
        ChangeRowEncoder.Write(_scratch, record, _sourceUtf8, _databaseUtf8, topXid, 0, ChangeRowEncoder.Blank, 0);
        Spill.Append(topXid, subXid, _scratch.WrittenSpan);
        if (HindsightTracing.Enabled && HindsightTracing.TraceOf(record.Context) is { } trace)
        {
            if (!_stagedTraceLinks.TryGetValue(topXid, out var subs)) _stagedTraceLinks[topXid] = subs = [];
            if (!subs.TryGetValue(subXid, out var links)) subs[subXid] = links = [];
            if (links.Count < HindsightTracing.MaxLinks) links.Add(trace);
        }
    }

    /// <summary>Keeps a schema change of a transaction sent whole; it is written at the store commit.</summary>
    public void AddSchemaChange(SchemaChangeRecord record, uint xid, ulong commitLsn, DateTime committedAt, int ordinal) =>
        _schemaChanges.Add(record, xid, commitLsn, committedAt, ordinal);

    /// <summary>Keeps a schema change of a streamed, not yet committed transaction (in memory: they are few).</summary>
    public void StageSchemaChange(SchemaChangeRecord record, uint topXid, uint subXid) => _schemaChanges.Stage(record, topXid, subXid);

    /// <summary>Records that a transaction sent whole is complete; it becomes durable with the next <see cref="CommitAsync"/>.</summary>
    public ValueTask TransactionCompletedAsync(ulong commitLsn, ulong endLsn, DateTime committedAt, int changes, CancellationToken ct)
    {
        MarkCompleted(commitLsn, endLsn, committedAt, changes);
        return ValueTask.CompletedTask;
    }

    /// <summary>Copies a committed streamed transaction's changes into the change table, numbered in streamed order.</summary>
    public async ValueTask CommitStagedAsync(uint xid, ulong commitLsn, ulong endLsn, DateTime committedAt, CancellationToken ct)
    {
        _oneTrip.GiveUp(); // a streamed transaction is large: its rows go by COPY
        var ordinal = 0;
        foreach (var tuple in Spill.Read(xid))
        {
            ChangeRowEncoder.Complete(tuple.Span, commitLsn, ++ordinal, committedAt);
            if (_chain is not null) _unhashed.Add(_batch.WrittenCount);
            _batch.Write(tuple.Span);
            await RowAddedAsync(ct).ConfigureAwait(false);
        }
        Spill.Remove(xid);
        if (_stagedTraceLinks.Remove(xid, out var staged))
            foreach (var trace in staged.Values.SelectMany(links => links))
                if (_traceLinks.Count < HindsightTracing.MaxLinks) _traceLinks.Add(trace);
        _schemaChanges.CommitStaged(xid, commitLsn, committedAt);
        MarkCompleted(commitLsn, endLsn, committedAt, ordinal);
    }

    /// <summary>Drops the spilled changes of an aborted streamed transaction or subtransaction,
    /// or of a streamed transaction already stored before a restart (<paramref name="subXid"/> null).</summary>
    public void DiscardStaged(uint xid, uint? subXid)
    {
        Spill.Abort(xid, subXid ?? xid);
        _schemaChanges.DiscardStaged(xid, subXid ?? xid);
        if (subXid is null || subXid == xid) _stagedTraceLinks.Remove(xid);
        else if (_stagedTraceLinks.TryGetValue(xid, out var subs)) subs.Remove(subXid.Value);
    }

    /// <summary>Records a streamed transaction that was already stored (replayed after a restart) as done.</summary>
    public ValueTask MarkSkippedAsync(ulong commitLsn, ulong endLsn, CancellationToken ct)
    {
        // Nothing to write; acknowledging it again is harmless and keeps the slot moving.
        if (endLsn > _txLastEndLsn) _txLastEndLsn = endLsn;
        if (commitLsn > _txLastCommitLsn) _txLastCommitLsn = commitLsn;
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// The last stored image (<c>after</c>) of a row, for filling unchanged TOAST values and missing before-images.
    /// Looks at the spilled changes of streamed transaction <paramref name="stagedXid"/> first, then the change table.
    /// </summary>
    public async ValueTask<JsonElement?> LastImageAsync(string schema, string table, string primaryKey, uint? stagedXid, CancellationToken ct)
    {
        if (stagedXid is { } xid && Spill.LastImage(xid, schema, table, primaryKey) is { } spilled) return spilled;
        if (_tx is null && _oneTrip.Covers(_batchRows))
        {
            // The rows not yet written are all in memory, and newer than anything stored: look there first, then
            // ask the store outside any transaction, so this store transaction can still commit in one trip.
            if (_oneTrip.LastImage(schema, table, primaryKey) is { } pending) return pending;
        }
        else
        {
            await EnsureTransactionAsync(ct).ConfigureAwait(false);
            await FlushAsync(ct).ConfigureAwait(false); // the rows written so far must be visible to the lookup
        }
        return await QueryLastImageAsync(_conn!, _tx, _source, schema, table, primaryKey, ct).ConfigureAwait(false);
    }

    /// <summary>The last stored image (<c>after</c>) of a row of <paramref name="source"/> that did not delete it, or null.</summary>
    internal static async ValueTask<JsonElement?> QueryLastImageAsync(NpgsqlConnection conn, NpgsqlTransaction? tx, string source,
        string schema, string table, string primaryKey, CancellationToken ct)
    {
        var cmd = new NpgsqlCommand(
            """
            SELECT after FROM hindsight.changes
            WHERE "table" = $2 AND primary_key = $3 AND schema = $1 AND source = $4 AND operation <> 'DELETE'
            ORDER BY committed_at DESC, commit_lsn DESC, ordinal DESC LIMIT 1
            """, conn, tx);
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        cmd.Parameters.AddWithValue(schema);
        cmd.Parameters.AddWithValue(table);
        cmd.Parameters.AddWithValue(primaryKey);
        cmd.Parameters.AddWithValue(source);
        if (await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false) is not string json) return null;
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.Clone();
    }

    /// <summary>
    /// Writes what is buffered and commits the store transaction with the progress row.
    /// Call only between source transactions.
    /// </summary>
    /// <returns>The end LSN now safe to acknowledge, or null when nothing new became durable.</returns>
    public async ValueTask<ulong?> CommitAsync(CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        // A span per store commit, linked to the traces of the requests whose changes it stores (when anyone listens).
        using var activity = HindsightTracing.Enabled
            ? HindsightTracing.Source.StartActivity("hindsight.store.commit", ActivityKind.Internal, default(ActivityContext),
                links: _traceLinks.Select(t => new ActivityLink(t)))
            : null;
        _traceLinks.Clear();
        activity?.SetTag("hindsight.source", _source);
        activity?.SetTag("hindsight.changes", _txChanges);
        activity?.SetTag("hindsight.transactions", _txTransactions);
        var advanced = _txLastEndLsn > LastEndLsn;
        var progress = _txTransactions > 0 || advanced;
        IReadOnlyList<SealedBlock> blocks = [];
        if (_tx is null && _oneTrip.Covers(_batchRows) && !_schemaChanges.HasPending)
        {
            // Nothing of this store transaction has reached the store yet: rows, block and progress in one round trip.
            if (!progress && _batchRows == 0) return null;
            if (_batchRows > 0)
            {
                HashBatch(); // at most a one-trip's rows: one block
                blocks = _chain is { HasPending: true } ? _chain.Seal() : [];
                var batch = await OneTripBatchAsync(chained: blocks.Count == 1, ct).ConfigureAwait(false);
                _oneTrip.Fill(batch.BatchCommands[0].Parameters, _source, _database);
                SetProgress(batch.BatchCommands[1].Parameters);
                if (blocks.Count == 1) ChainWriter.Fill(batch.BatchCommands[2].Parameters, blocks[0]);
                await batch.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            }
            else await UpdateProgressAsync(ct).ConfigureAwait(false);
            _batch.ResetWrittenCount();
            _batchRows = 0;
        }
        else
        {
            await EnsureTransactionAsync(ct).ConfigureAwait(false);
            await FlushAsync(ct).ConfigureAwait(false);
            await _schemaChanges.WriteAsync(_conn!, _tx!, _source, _database, ct).ConfigureAwait(false);
            blocks = _chain is { HasPending: true } ? _chain.Seal() : [];
            foreach (var block in blocks) await InsertBlockAsync(block, ct).ConfigureAwait(false);
            if (progress) await UpdateProgressAsync(ct).ConfigureAwait(false);
            await _tx!.CommitAsync(ct).ConfigureAwait(false);
            await _tx.DisposeAsync().ConfigureAwait(false);
            _tx = null;
        }
        _oneTrip.Reset();
        if (blocks.Count > 0) _chain!.Committed();
        HindsightMetrics.StoreCommitted(_source, _txChanges, _txTransactions, Stopwatch.GetElapsedTime(started), _txLastCommittedAt);
        if (_txLastCommitLsn > LastCommitLsn) LastCommitLsn = _txLastCommitLsn;
        ulong? ack = null;
        if (_txLastEndLsn > LastEndLsn) { LastEndLsn = _txLastEndLsn; ack = LastEndLsn; }
        _txChanges = _txTransactions = 0;
        _txLastCommittedAt = null;
        return ack;
    }

    /// <summary>Records the last error in the progress row (best effort, on its own connection).</summary>
    /// <remarks>
    /// Leaves <c>updated_at</c> alone: it says when the store last advanced, and <c>status</c> judges lag by it.
    /// A worker failing over and over must show a growing lag, not look fresh with every error it records.
    /// </remarks>
    public static async Task RecordErrorAsync(NpgsqlDataSource store, string slot, string source, string error)
    {
        try
        {
            var cmd = store.CreateCommand(
                "UPDATE hindsight.progress SET last_error = $3 WHERE slot = $1 AND source = $2");
            await using var cmdDisposal = cmd.ConfigureAwait(false);
            cmd.Parameters.AddWithValue(slot);
            cmd.Parameters.AddWithValue(source);
            cmd.Parameters.AddWithValue(error);
            await cmd.ExecuteNonQueryAsync().ConfigureAwait(false);
        }
        catch (Exception) { /* the store may be the thing that is down */ }
    }

    private const string ProgressSql =
        """
        UPDATE hindsight.progress
           SET last_commit_lsn = greatest(last_commit_lsn, $3), last_end_lsn = greatest(last_end_lsn, $4),
               stored_changes = stored_changes + $5, stored_transactions = stored_transactions + $6,
               last_committed_at = coalesce($7, last_committed_at), updated_at = now(), last_error = NULL
         WHERE slot = $1 AND source = $2
        """;

    private static readonly NpgsqlDbType[] ProgressTypes =
        [NpgsqlDbType.Text, NpgsqlDbType.Text, NpgsqlDbType.Bigint, NpgsqlDbType.Bigint, NpgsqlDbType.Bigint, NpgsqlDbType.Bigint, NpgsqlDbType.TimestampTz];

    private static void AddProgressParameters(NpgsqlParameterCollection p)
    {
        foreach (var type in ProgressTypes) p.Add(new NpgsqlParameter { NpgsqlDbType = type, Value = DBNull.Value });
    }

    /// <summary>Sets the progress update's parameters to what the open store transaction makes durable.</summary>
    private void SetProgress(NpgsqlParameterCollection p)
    {
        p[0].Value = _slot;
        p[1].Value = _source;
        p[2].Value = (long)Math.Max(_txLastCommitLsn, LastCommitLsn);
        p[3].Value = (long)Math.Max(_txLastEndLsn, LastEndLsn);
        p[4].Value = _txChanges;
        p[5].Value = _txTransactions;
        p[6].Value = _txLastCommittedAt is { } t ? t : DBNull.Value;
    }

    // The statements of every store commit are prepared once per session: under a stream of small transactions they
    // run hundreds of times a second, and the store should not parse and plan them each time.

    /// <summary>Runs the progress row update alone (prepared on first use).</summary>
    private async ValueTask UpdateProgressAsync(CancellationToken ct)
    {
        if (_progressUpdate is null)
        {
            var cmd = new NpgsqlCommand(ProgressSql, _conn);
            AddProgressParameters(cmd.Parameters);
            await cmd.PrepareAsync(ct).ConfigureAwait(false);
            _progressUpdate = cmd;
        }
        SetProgress(_progressUpdate.Parameters);
        await _progressUpdate.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    /// <summary>The one-trip commit: the rows' INSERT, the progress update and (<paramref name="chained"/>) the chain's
    /// block in one batch (prepared).</summary>
    private async ValueTask<NpgsqlBatch> OneTripBatchAsync(bool chained, CancellationToken ct)
    {
        if ((chained ? _oneTripChainedBatch : _oneTripBatch) is { } made) return made;
        var batch = new NpgsqlBatch(_conn);
        batch.BatchCommands.Add(OneTripCommit.CreateInsert());
        var progress = new NpgsqlBatchCommand(ProgressSql);
        AddProgressParameters(progress.Parameters);
        batch.BatchCommands.Add(progress);
        if (chained) batch.BatchCommands.Add(ChainWriter.CreateInsert());
        await batch.PrepareAsync(ct).ConfigureAwait(false);
        return chained ? _oneTripChainedBatch = batch : _oneTripBatch = batch;
    }

    /// <summary>Inserts the chain's block in the open store transaction (prepared on first use).</summary>
    private async ValueTask InsertBlockAsync(SealedBlock block, CancellationToken ct)
    {
        if (_chainInsert is null)
        {
            var cmd = ChainWriter.CreateInsert(_conn!);
            await cmd.PrepareAsync(ct).ConfigureAwait(false);
            _chainInsert = cmd;
        }
        _chainInsert.Transaction = _tx;
        ChainWriter.Fill(_chainInsert.Parameters, block);
        await _chainInsert.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    private void MarkCompleted(ulong commitLsn, ulong endLsn, DateTime committedAt, long changes)
    {
        _txLastCommitLsn = Math.Max(_txLastCommitLsn, commitLsn);
        _txLastEndLsn = Math.Max(_txLastEndLsn, endLsn);
        _txLastCommittedAt = committedAt;
        _txChanges += changes;
        _txTransactions++;
    }

    private async ValueTask EnsureTransactionAsync(CancellationToken ct)
    {
        if (_conn is null) throw new InvalidOperationException("sink not initialised");
        _tx ??= await _conn.BeginTransactionAsync(ct).ConfigureAwait(false);
    }

    private StreamSpill Spill => _spill ?? throw new InvalidOperationException("sink not initialised");

    /// <summary>Copies the buffered changes into the open store transaction.</summary>
    public async ValueTask FlushAsync(CancellationToken ct)
    {
        if (_batchRows == 0) return;
        await EnsureTransactionAsync(ct).ConfigureAwait(false);
        _oneTrip.GiveUp(); // rows now go by COPY in an explicit store transaction
        // The chain hashes the batch on another core while the store takes it; the buffer is reused only after both.
        var hashing = _unhashed.Count > 0 ? Task.Run(HashBatch, CancellationToken.None) : Task.CompletedTask;
        try
        {
            await ChangeRowEncoder.CopyAsync(_conn!, _batch.WrittenMemory, ct).ConfigureAwait(false);
        }
        finally
        {
            await hashing.ConfigureAwait(false);
        }
        _batch.ResetWrittenCount();
        _batchRows = 0;
    }

    /// <summary>Gives the chain the leaves of the tuples in the batch it has not seen yet, in order.</summary>
    private void HashBatch()
    {
        var tuples = _batch.WrittenSpan;
        foreach (var start in _unhashed) _chain!.Add(tuples[start..]);
        _unhashed.Clear();
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        _spill?.Dispose();
        if (_progressUpdate is not null) await _progressUpdate.DisposeAsync().ConfigureAwait(false);
        if (_oneTripBatch is not null) await _oneTripBatch.DisposeAsync().ConfigureAwait(false);
        if (_oneTripChainedBatch is not null) await _oneTripChainedBatch.DisposeAsync().ConfigureAwait(false);
        if (_chainInsert is not null) await _chainInsert.DisposeAsync().ConfigureAwait(false);
        if (_tx is not null) { try { await _tx.DisposeAsync().ConfigureAwait(false); } catch (Exception) { /* connection may be gone */ } }
        if (_conn is not null) await _conn.DisposeAsync().ConfigureAwait(false);
    }
}
