using System.Buffers;
using System.Text;
using Hindsight.Model;
using Npgsql;
using NpgsqlTypes;

namespace Hindsight.Sink;

/// <summary>
/// Writes a baseline (<c>setup --snapshot</c>) into the store: SNAPSHOT rows in <c>hindsight.changes</c> and one
/// <c>hindsight.baselines</c> row per table, all in one store transaction — a baseline is stored whole or not at all.
/// </summary>
/// <remarks>
/// Every SNAPSHOT row carries <c>commit_lsn</c> = the slot's consistent point and a negative ordinal (−1, −2, …). A
/// transaction committing exactly at the consistent point is decoded (it is not in the snapshot) and numbers its
/// changes from 1, so the two can never collide on the idempotency key, and the baseline sorts before it. The worker's
/// progress row is not touched: what the slot streams is stored by the worker as usual.
/// </remarks>
internal sealed class BaselineWriter(NpgsqlConnection store, string source, string database, string slot, ulong lsn, DateTime takenAt) : IAsyncDisposable
{
    private const int MaxBatchRows = 10_000;
    private static readonly byte[] EmptyJson = "{}"u8.ToArray();

    private readonly byte[] _source = Encoding.UTF8.GetBytes(source);
    private readonly byte[] _database = Encoding.UTF8.GetBytes(database);
    private readonly ArrayBufferWriter<byte> _batch = new(1 << 16);
    private readonly List<(string Schema, string Table, long Rows)> _tables = [];
    private NpgsqlTransaction? _tx;
    private int _batchRows;
    private long _ordinal;

    /// <summary>Rows written so far, over all tables.</summary>
    public long Rows => -_ordinal;

    /// <summary>Opens the store transaction.</summary>
    public async Task BeginAsync(CancellationToken ct) => _tx = await store.BeginTransactionAsync(ct).ConfigureAwait(false);

    /// <summary>Adds one row of the baseline (its after-image and key rendered as capture renders them).</summary>
    /// <exception cref="InvalidOperationException">More rows than the ordinal can number (2³¹ − 1).</exception>
    public async ValueTask AddAsync(string schema, string table, string? primaryKey, byte[] image, CancellationToken ct)
    {
        // int.MinValue itself is left free: as-of places a baseline's barrier there, before all of its rows.
        if (_ordinal == int.MinValue + 1)
            throw new InvalidOperationException("a baseline holds at most 2,147,483,647 rows; track fewer tables with --tables");
        var record = new ChangeRecord
        {
            Schema = schema, Table = table, PrimaryKey = primaryKey, Operation = Operation.Snapshot,
            Before = EmptyJson, After = image, Context = EmptyJson, Position = lsn, QueuedAt = DateTime.UtcNow,
        };
        // Transaction id 0 (InvalidTransactionId): a baseline is read from a snapshot, not written by a transaction.
        ChangeRowEncoder.Write(_batch, record, _source, _database, 0, lsn, takenAt, (int)--_ordinal);
        if (++_batchRows >= MaxBatchRows || _batch.WrittenCount >= ChangeRowEncoder.MaxBatchBytes) await FlushAsync(ct).ConfigureAwait(false);
    }

    /// <summary>Records that every row of a table has been added.</summary>
    public void TableDone(string schema, string table, long rows) => _tables.Add((schema, table, rows));

    /// <summary>Writes what is buffered and the baselines rows, and commits.</summary>
    /// <param name="columnRules">The column rules the images were rendered with, kept with each table's baseline.</param>
    /// <param name="ct">Cancels the commit (then nothing is stored).</param>
    public async Task CommitAsync(string columnRules, CancellationToken ct)
    {
        await FlushAsync(ct).ConfigureAwait(false);
        var cmd = new NpgsqlCommand(
            """
            INSERT INTO hindsight.baselines (source, database, schema, "table", lsn, taken_at, slot, rows, column_rules)
            SELECT $9, $1, s, t, $2, $3, $4, n, $5::jsonb FROM unnest($6::text[], $7::text[], $8::bigint[]) AS x(s, t, n)
            """, store, _tx);
        await using (cmd.ConfigureAwait(false))
        {
            cmd.Parameters.AddWithValue(database);
            cmd.Parameters.AddWithValue((long)lsn);
            cmd.Parameters.Add(new NpgsqlParameter { Value = takenAt, NpgsqlDbType = NpgsqlDbType.TimestampTz });
            cmd.Parameters.AddWithValue(slot);
            cmd.Parameters.AddWithValue(columnRules);
            cmd.Parameters.AddWithValue(_tables.Select(t => t.Schema).ToArray());
            cmd.Parameters.AddWithValue(_tables.Select(t => t.Table).ToArray());
            cmd.Parameters.AddWithValue(_tables.Select(t => t.Rows).ToArray());
            cmd.Parameters.AddWithValue(source);
            await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
        await _tx!.CommitAsync(ct).ConfigureAwait(false);
    }

    private async ValueTask FlushAsync(CancellationToken ct)
    {
        if (_batchRows == 0) return;
        await ChangeRowEncoder.CopyAsync(store, _batch.WrittenMemory, ct).ConfigureAwait(false);
        _batch.ResetWrittenCount();
        _batchRows = 0;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_tx is not null) await _tx.DisposeAsync().ConfigureAwait(false);
    }
}
