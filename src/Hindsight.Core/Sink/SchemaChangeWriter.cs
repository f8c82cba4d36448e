using Hindsight.Model;
using Npgsql;
using NpgsqlTypes;

namespace Hindsight.Sink;

/// <summary>
/// Writes schema changes into <c>hindsight.schema_changes</c>, in the store transaction that holds the row changes of
/// the same source transactions, so both become durable together (and a replay skips both).
/// </summary>
/// <remarks>
/// Schema changes are rare and small: they wait in memory until the store commit, and go by one INSERT each.
/// The source's trigger cannot tell which dropped tables were tracked (the catalogs no longer hold them when it runs),
/// so a drop is kept only when the trail already knows the table by its OID.
/// </remarks>
internal sealed class SchemaChangeWriter
{
    private readonly List<PendingSchemaChange> _pending = [];
    private readonly Dictionary<uint, List<(uint SubXid, SchemaChangeRecord Record)>> _staged = new();

    /// <summary>False on a store without <c>hindsight.schema_changes</c> (not migrated yet): schema changes are then not kept.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>True when schema changes wait for the store commit.</summary>
    public bool HasPending => _pending.Count > 0;

    /// <summary>Keeps a schema change of a transaction sent whole until the store commit.</summary>
    public void Add(SchemaChangeRecord record, uint xid, ulong commitLsn, DateTime committedAt, int ordinal)
    {
        if (Enabled) _pending.Add(new PendingSchemaChange(record, xid, commitLsn, committedAt, ordinal));
    }

    /// <summary>Keeps a schema change read back from the queue, numbered as capture numbered it.</summary>
    public void Add(PendingSchemaChange change)
    {
        if (Enabled) _pending.Add(change);
    }

    /// <summary>Hands over what waits (the scale path's capture publishes it instead of writing it), leaving nothing.</summary>
    public IReadOnlyList<PendingSchemaChange> TakePending()
    {
        var taken = _pending.ToArray();
        _pending.Clear();
        return taken;
    }

    /// <summary>True to skip a schema change already stored (an ingester given a message again) instead of failing on the key.</summary>
    public bool SkipExisting { get; init; }

    /// <summary>Keeps a schema change of a streamed transaction whose commit is not known yet.</summary>
    public void Stage(SchemaChangeRecord record, uint topXid, uint subXid)
    {
        if (!Enabled) return;
        if (!_staged.TryGetValue(topXid, out var list)) _staged[topXid] = list = [];
        list.Add((subXid, record));
    }

    /// <summary>Moves a committed streamed transaction's schema changes to those waiting for the store commit.</summary>
    public void CommitStaged(uint xid, ulong commitLsn, DateTime committedAt)
    {
        if (!_staged.Remove(xid, out var list)) return;
        var ordinal = 0;
        foreach (var (_, record) in list) _pending.Add(new PendingSchemaChange(record, xid, commitLsn, committedAt, ++ordinal));
    }

    /// <summary>Drops the staged schema changes of an aborted subtransaction, or of a whole transaction.</summary>
    public void DiscardStaged(uint xid, uint subXid)
    {
        if (subXid == xid) _staged.Remove(xid);
        else if (_staged.TryGetValue(xid, out var list)) list.RemoveAll(s => s.SubXid == subXid);
    }

    private const string InsertSql =
        """
        INSERT INTO hindsight.schema_changes
            (source, database, schema, "table", relid, command_tag, object_identity, statement, statement_truncated, role,
             columns, detail, context, committed_at, transaction_id, commit_lsn, position, ordinal)
        SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb, $12::jsonb, $13::jsonb, $14, $15, $16, $17, $18
        WHERE $19 = false OR EXISTS (SELECT 1 FROM hindsight.schema_changes k WHERE k.source = $1 AND k.relid = $5)
        """;

    /// <summary>Writes what waits, in the open store transaction.</summary>
    public async ValueTask WriteAsync(NpgsqlConnection conn, NpgsqlTransaction tx, string source, string database, CancellationToken ct)
    {
        foreach (var p in _pending)
        {
            var r = p.Record;
            var cmd = new NpgsqlCommand(SkipExisting ? InsertSql + " ON CONFLICT ON CONSTRAINT schema_changes_exactly_once DO NOTHING" : InsertSql, conn, tx);
            await using var cmdDisposal = cmd.ConfigureAwait(false);
            var a = cmd.Parameters;
            a.AddWithValue(source);
            a.AddWithValue(database);
            a.AddWithValue(r.Schema);
            a.AddWithValue(r.Table);
            a.AddWithValue(r.Relid);
            a.AddWithValue(r.Tag);
            a.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = (object?)r.Identity ?? DBNull.Value });
            a.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = (object?)r.Statement ?? DBNull.Value });
            a.AddWithValue(r.StatementTruncated);
            a.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = (object?)r.Role ?? DBNull.Value });
            a.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = (object?)r.Columns ?? DBNull.Value });
            a.AddWithValue(r.Detail);
            a.AddWithValue(System.Text.Encoding.UTF8.GetString(r.Context));
            a.AddWithValue(NpgsqlDbType.TimestampTz, p.CommittedAt);
            a.AddWithValue((long)p.Xid);
            a.AddWithValue((long)p.CommitLsn);
            a.AddWithValue((long)r.Position);
            a.AddWithValue(p.Ordinal);
            a.AddWithValue(r.Dropped);
            await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
        _pending.Clear();
    }
}

/// <summary>A schema change of a committed source transaction, numbered within it, waiting to be written.</summary>
internal readonly record struct PendingSchemaChange(SchemaChangeRecord Record, uint Xid, ulong CommitLsn, DateTime CommittedAt, int Ordinal);
