using System.Text;
using System.Text.Json;
using Hindsight.Model;
using Npgsql;
using NpgsqlTypes;

namespace Hindsight.Sink;

/// <summary>
/// The rows of a small store transaction, kept so that the whole store commit (its rows and the progress row) goes
/// to the store in one round trip: one batch of an <c>INSERT … SELECT FROM unnest(…)</c> and the progress update,
/// which PostgreSQL runs as one implicit transaction (everything before the batch's single Sync commits together, or
/// nothing does).
/// </summary>
/// <remarks>
/// Why: under a steady stream of small source transactions the store commit is the worker's hot path, and on a busy
/// machine each round trip waits for both processes to be scheduled. The COPY path takes four (COPY, its data, the
/// progress update, COMMIT); this takes one. Larger store transactions keep using binary COPY, which is cheaper per
/// row: rows are kept here only up to <see cref="MaxRows"/>, and not at all once the store transaction has sent
/// anything.
/// </remarks>
internal sealed class OneTripCommit
{
    /// <summary>Most rows a store transaction may hold and still commit in one trip.</summary>
    public const int MaxRows = 256;

    private const string InsertSql =
        $"""
        INSERT INTO hindsight.changes ({ChangeRowEncoder.Columns})
        SELECT u.commit_lsn, u.ordinal, u.committed_at, u.transaction_id, u.position, u.queued_at,
               $15, $7, u.schema, u."table", u.primary_key, u.operation, u.before, u.after, u.context
        FROM unnest($1::bigint[], $2::int[], $3::timestamptz[], $4::bigint[], $5::bigint[], $6::timestamptz[],
                    $8::text[], $9::text[], $10::text[], $11::text[], $12::jsonb[], $13::jsonb[], $14::jsonb[])
             AS u(commit_lsn, ordinal, committed_at, transaction_id, position, queued_at,
                  schema, "table", primary_key, operation, before, after, context)
        """;

    private readonly List<Row> _rows = [];
    private bool _overflowed;

    private readonly record struct Row(ChangeRecord Record, long TransactionId, ulong CommitLsn, DateTime CommittedAt, int Ordinal);

    /// <summary>Rows kept.</summary>
    public int Count => _rows.Count;

    /// <summary>True when the kept rows are exactly the <paramref name="bufferedRows"/> rows waiting to be written.</summary>
    public bool Covers(int bufferedRows) => !_overflowed && _rows.Count == bufferedRows;

    /// <summary>Keeps a row, unless the store transaction has outgrown a one-trip commit.</summary>
    public void Add(ChangeRecord record, long transactionId, ulong commitLsn, DateTime committedAt, int ordinal)
    {
        if (_overflowed) return;
        if (_rows.Count >= MaxRows) { GiveUp(); return; }
        _rows.Add(new Row(record, transactionId, commitLsn, committedAt, ordinal));
    }

    /// <summary>The store transaction will not commit in one trip (its rows went, or will go, by COPY).</summary>
    public void GiveUp()
    {
        _overflowed = true;
        _rows.Clear();
    }

    /// <summary>Starts over for the next store transaction.</summary>
    public void Reset()
    {
        _overflowed = false;
        _rows.Clear();
    }

    /// <summary>The newest image (<c>after</c>) of a row among the kept rows that did not delete it, as the store's lookup
    /// of the last image would find it once they are written; null when no kept row has one.</summary>
    public JsonElement? LastImage(string schema, string table, string primaryKey)
    {
        for (var i = _rows.Count - 1; i >= 0; i--)
        {
            var r = _rows[i].Record;
            if (r.Operation == Operation.Delete || r.PrimaryKey != primaryKey || r.Table != table || r.Schema != schema) continue;
            using var doc = JsonDocument.Parse(r.After);
            return doc.RootElement.Clone();
        }
        return null;
    }

    /// <summary>The INSERT of kept rows, with typed parameters, to be prepared once per session and filled by <see cref="Fill"/>.</summary>
    public static NpgsqlBatchCommand CreateInsert()
    {
        var cmd = new NpgsqlBatchCommand(InsertSql);
        var p = cmd.Parameters;
        foreach (var type in ParameterTypes) p.Add(new NpgsqlParameter { NpgsqlDbType = type, Value = DBNull.Value });
        return cmd;
    }

    private static readonly NpgsqlDbType[] ParameterTypes =
    [
        NpgsqlDbType.Array | NpgsqlDbType.Bigint, NpgsqlDbType.Array | NpgsqlDbType.Integer, NpgsqlDbType.Array | NpgsqlDbType.TimestampTz,
        NpgsqlDbType.Array | NpgsqlDbType.Bigint, NpgsqlDbType.Array | NpgsqlDbType.Bigint, NpgsqlDbType.Array | NpgsqlDbType.TimestampTz,
        NpgsqlDbType.Text,
        NpgsqlDbType.Array | NpgsqlDbType.Text, NpgsqlDbType.Array | NpgsqlDbType.Text, NpgsqlDbType.Array | NpgsqlDbType.Text,
        NpgsqlDbType.Array | NpgsqlDbType.Text,
        NpgsqlDbType.Array | NpgsqlDbType.Jsonb, NpgsqlDbType.Array | NpgsqlDbType.Jsonb, NpgsqlDbType.Array | NpgsqlDbType.Jsonb,
        NpgsqlDbType.Text,
    ];

    /// <summary>Sets the parameters of an <see cref="CreateInsert"/> command to the kept rows of source <paramref name="source"/>,
    /// whose database is <paramref name="database"/>.</summary>
    public void Fill(NpgsqlParameterCollection p, string source, string database)
    {
        var n = _rows.Count;
        var commitLsn = new long[n];
        var ordinal = new int[n];
        var committedAt = new DateTime[n];
        var transactionId = new long[n];
        var position = new long[n];
        var queuedAt = new DateTime[n];
        var schema = new string[n];
        var table = new string[n];
        var primaryKey = new string?[n];
        var operation = new string[n];
        var before = new string[n];
        var after = new string[n];
        var context = new string[n];
        for (var i = 0; i < n; i++)
        {
            var (r, xid, lsn, at, ord) = _rows[i];
            commitLsn[i] = (long)lsn;
            ordinal[i] = ord;
            committedAt[i] = at;
            transactionId[i] = xid;
            position[i] = (long)r.Position;
            queuedAt[i] = r.QueuedAt;
            schema[i] = r.Schema;
            table[i] = r.Table;
            primaryKey[i] = r.PrimaryKey;
            operation[i] = r.Operation.ToStored();
            // jsonb parameters are written from text; these are small rows (a large store transaction goes by COPY).
            before[i] = Encoding.UTF8.GetString(r.Before);
            after[i] = Encoding.UTF8.GetString(r.After);
            context[i] = Encoding.UTF8.GetString(r.Context);
        }
        object[] values = [commitLsn, ordinal, committedAt, transactionId, position, queuedAt, database,
            schema, table, primaryKey, operation, before, after, context, source];
        for (var i = 0; i < values.Length; i++) p[i].Value = values[i];
    }
}
