using System.Buffers;
using System.Buffers.Binary;
using Hindsight.Chain;
using Hindsight.Sink;
using Npgsql;
using NpgsqlTypes;

namespace Hindsight.Queue;

/// <summary>A queue message read back and checked: a transaction part, or a transaction's schema changes.</summary>
internal sealed record IngestItem(string Source, string Database, string Slot, ulong CommitLsn, QueueMessage? Changes, IReadOnlyList<PendingSchemaChange>? SchemaChanges);

/// <summary>
/// Writes a batch of queue messages into the store in one store transaction: the rows by one binary COPY (they are
/// already the store's tuples), schema changes, and each source's progress. Exactly once: a batch holding rows already
/// stored (a message delivered again after an ingester died between its store commit and its acknowledgement, or a
/// resend past the duplicate window) is written again through a staging table that skips them. Each source's chain gets
/// one block of the rows this transaction stored, in the same transaction (docs/verification.md).
/// </summary>
internal static class IngestWriter
{
    private const string ProgressSql =
        """
        UPDATE hindsight.progress
           SET last_commit_lsn = greatest(last_commit_lsn, $3), last_end_lsn = greatest(last_end_lsn, $4),
               stored_changes = stored_changes + $5, stored_transactions = stored_transactions + $6,
               last_committed_at = greatest(last_committed_at, $7), updated_at = now(), last_error = NULL
         WHERE slot = $1 AND source = $2
        """;

    /// <summary>Stores the batch and commits; returns the rows newly stored.</summary>
    public static async Task<long> StoreAsync(NpgsqlDataSource store, IReadOnlyList<IngestItem> items, CancellationToken ct)
    {
        var tuples = new ArrayBufferWriter<byte>();
        foreach (var item in items)
            if (item.Changes is { } m) tuples.Write(m.Tuples.Span);

        var conn = await store.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var connDisposal = conn.ConfigureAwait(false);
        long stored;
        long transactions = items.Sum(i => (long)(i.Changes?.Transactions ?? 0));
        var tx = await conn.BeginTransactionAsync(ct).ConfigureAwait(false);
        var chained = items.Where(i => i.Changes is not null).Select(i => i.Source).Distinct().Order(StringComparer.Ordinal).ToList();
        Dictionary<string, ChainWriter> chains = [];
        HashSet<(string, long, int)>? moved = null;
        try
        {
            try
            {
                // The chains' heads are locked (in a fixed order) before the rows go in: the chain of a source with no block yet
                // counts what came before it, which must not include this batch.
                chains = await OpenChainsAsync(conn, tx, chained, ct).ConfigureAwait(false);
                if (tuples.WrittenCount > 0) await ChangeRowEncoder.CopyAsync(conn, tuples.WrittenMemory, ct).ConfigureAwait(false);
                stored = items.Sum(i => (long)(i.Changes?.Changes ?? 0));
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
            {
                await tx.RollbackAsync(ct).ConfigureAwait(false);
                await tx.DisposeAsync().ConfigureAwait(false);
                tx = await conn.BeginTransactionAsync(ct).ConfigureAwait(false);
                chains = await OpenChainsAsync(conn, tx, chained, ct).ConfigureAwait(false);
                (stored, transactions, moved) = await CopySkippingStoredAsync(conn, tuples.WrittenMemory, ct).ConfigureAwait(false);
            }
            await ChainAsync(conn, tx, items, chains, moved, ct).ConfigureAwait(false);
            foreach (var group in items.Where(i => i.SchemaChanges is { Count: > 0 }).GroupBy(i => (i.Source, i.Database)))
            {
                var writer = new SchemaChangeWriter { SkipExisting = true };
                foreach (var change in group.SelectMany(i => i.SchemaChanges!)) writer.Add(change);
                await writer.WriteAsync(conn, tx, group.Key.Source, group.Key.Database, ct).ConfigureAwait(false);
            }
            var sources = items.GroupBy(i => (i.Slot, i.Source)).ToList();
            foreach (var source in sources)
            {
                var cmd = new NpgsqlCommand(ProgressSql, conn, tx);
                await using var cmdDisposal = cmd.ConfigureAwait(false);
                var parts = source.Select(i => i.Changes).OfType<QueueMessage>().ToList();
                cmd.Parameters.AddWithValue(source.Key.Slot);
                cmd.Parameters.AddWithValue(source.Key.Source);
                cmd.Parameters.AddWithValue((long)source.Max(i => i.CommitLsn));
                cmd.Parameters.AddWithValue((long)parts.Select(p => p.EndLsn).DefaultIfEmpty(0UL).Max());
                // Progress counts are the batch's share: exact on the first delivery, which is nearly always.
                cmd.Parameters.AddWithValue(sources.Count == 1 ? stored : parts.Sum(p => (long)p.Changes));
                cmd.Parameters.AddWithValue(sources.Count == 1 ? transactions : parts.Sum(p => (long)p.Transactions));
                cmd.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.TimestampTz,
                    Value = parts.Count == 0 ? DBNull.Value : parts.Max(p => p.LastCommittedAt) });
                await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            }
            await tx.CommitAsync(ct).ConfigureAwait(false);
        }
        finally
        {
            await tx.DisposeAsync().ConfigureAwait(false);
        }
        return stored;
    }

    private static async Task<Dictionary<string, ChainWriter>> OpenChainsAsync(NpgsqlConnection conn, NpgsqlTransaction tx, IReadOnlyList<string> sources,
        CancellationToken ct)
    {
        var chains = new Dictionary<string, ChainWriter>();
        foreach (var source in sources)
            if (await ChainWriter.OpenAsync(conn, source, ct, tx).ConfigureAwait(false) is { } chain) chains[source] = chain;
        return chains;
    }

    /// <summary>Appends to each source's chain a block of the rows this transaction stored (all of them, or those <paramref name="moved"/> says).</summary>
    private static async Task ChainAsync(NpgsqlConnection conn, NpgsqlTransaction tx, IReadOnlyList<IngestItem> items, Dictionary<string, ChainWriter> chains,
        HashSet<(string, long, int)>? moved, CancellationToken ct)
    {
        foreach (var item in items)
        {
            if (item.Changes is not { } m || !chains.TryGetValue(item.Source, out var chain)) continue;
            foreach (var tuple in ChangeRowEncoder.Split(m.Tuples))
            {
                if (moved is not null && !moved.Contains((item.Source, Field64(tuple.Span, ChangeRowEncoder.Field.CommitLsn), Field32(tuple.Span, ChangeRowEncoder.Field.Ordinal))))
                    continue;
                chain.Add(tuple.Span);
            }
        }
        foreach (var block in chains.Values.Where(c => c.HasPending).SelectMany(c => c.Seal()))
        {
            var cmd = ChainWriter.CreateInsert(conn);
            await using var cmdDisposal = cmd.ConfigureAwait(false);
            cmd.Transaction = tx;
            ChainWriter.Fill(cmd.Parameters, block);
            await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
    }

    private static long Field64(ReadOnlySpan<byte> tuple, ChangeRowEncoder.Field field) => BinaryPrimitives.ReadInt64BigEndian(ChangeRowEncoder.Read(tuple, field));
    private static int Field32(ReadOnlySpan<byte> tuple, ChangeRowEncoder.Field field) => BinaryPrimitives.ReadInt32BigEndian(ChangeRowEncoder.Read(tuple, field));

    /// <summary>Copies the rows into a staging table, then moves those the store does not hold yet.</summary>
    private static async Task<(long Rows, long Transactions, HashSet<(string, long, int)> Moved)> CopySkippingStoredAsync(NpgsqlConnection conn, ReadOnlyMemory<byte> tuples, CancellationToken ct)
    {
        var prepare = new NpgsqlCommand(
            $"""
            CREATE TEMP TABLE IF NOT EXISTS hindsight_ingest AS SELECT {ChangeRowEncoder.Columns} FROM hindsight.changes WITH NO DATA;
            TRUNCATE hindsight_ingest
            """, conn);
        await using (prepare.ConfigureAwait(false))
            await prepare.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        await ChangeRowEncoder.CopyAsync(conn, "hindsight_ingest", tuples, ct).ConfigureAwait(false);
        var move = new NpgsqlCommand(
            $"""
            WITH moved AS (
                INSERT INTO hindsight.changes ({ChangeRowEncoder.Columns}) SELECT {ChangeRowEncoder.Columns} FROM hindsight_ingest
                ON CONFLICT ON CONSTRAINT changes_exactly_once DO NOTHING
                RETURNING source, commit_lsn, ordinal)
            SELECT source, commit_lsn, ordinal FROM moved
            """, conn);
        await using var moveDisposal = move.ConfigureAwait(false);
        var r = await move.ExecuteReaderAsync(ct).ConfigureAwait(false);
        await using var rDisposal = r.ConfigureAwait(false);
        var moved = new HashSet<(string, long, int)>();
        while (await r.ReadAsync(ct).ConfigureAwait(false)) moved.Add((r.GetString(0), r.GetInt64(1), r.GetInt32(2)));
        return (moved.Count, moved.Select(m => (m.Item1, m.Item2)).Distinct().Count(), moved);
    }
}
