using System.Text;
using Hindsight.Capture;
using Hindsight.Capture.Rendering;
using Hindsight.Model;

namespace Hindsight.Tests.Stitch;

/// <summary>
/// Capture events as the replication reader makes them from pgoutput: relations as the catalog describes them, values in
/// PostgreSQL's text output form, and the stream xid set only inside streamed transactions.
/// </summary>
internal static class Wal
{
    private static readonly PgTypeInfo Int2 = PgTypeInfo.Scalar(PgTypeInfo.Oids.Int2, "int2");
    private static readonly PgTypeInfo Int4 = PgTypeInfo.Scalar(PgTypeInfo.Oids.Int4, "int4");
    private static readonly PgTypeInfo Text = PgTypeInfo.Scalar(PgTypeInfo.Oids.Text, "text");
    private static readonly PgTypeInfo Numeric = PgTypeInfo.Scalar(PgTypeInfo.Oids.Numeric, "numeric");
    private static readonly PgTypeInfo Bool = PgTypeInfo.Scalar(PgTypeInfo.Oids.Bool, "bool");
    private static readonly PgTypeInfo TimestampTz = PgTypeInfo.Scalar(PgTypeInfo.Oids.TimestampTz, "timestamptz");

    /// <summary><c>public.orders (id int PRIMARY KEY, status text, total numeric, paid bool, placed timestamptz, note text)</c>;
    /// <c>note</c> is the long, out-of-line (TOAST) column.</summary>
    public static readonly RelationInfo Orders = new(16400, "public", "orders",
        [new("id", Int4), new("status", Text), new("total", Numeric), new("paid", Bool), new("placed", TimestampTz), new("note", Text)],
        [0], ReplicaIdentityFull: false);

    /// <summary><c>shop.order_lines (order_id int, line int2, sku text, PRIMARY KEY (order_id, line))</c>.</summary>
    public static readonly RelationInfo Lines = new(16410, "shop", "order_lines",
        [new("order_id", Int4), new("line", Int2), new("sku", Text)], [0, 1], ReplicaIdentityFull: false);

    /// <summary><c>public.audit_log (message text)</c>, a table without a primary key.</summary>
    public static readonly RelationInfo Log = new(16420, "public", "audit_log", [new("message", Text)], [], ReplicaIdentityFull: false);

    /// <summary>A value in text output form.</summary>
    public static ColumnValue V(string text) => new(ColumnValueKind.Text, text);

    /// <summary>SQL NULL.</summary>
    public static readonly ColumnValue Null = ColumnValue.Null;

    /// <summary>An unchanged out-of-line value pgoutput does not resend.</summary>
    public static readonly ColumnValue Toast = ColumnValue.UnchangedToast;

    /// <summary>A row of <see cref="Orders"/>.</summary>
    public static ColumnValue[] Order(int id, string status, string total = "10.50", string paid = "f",
        string placed = "2024-01-02 03:04:05.5+02", ColumnValue? note = null) =>
        [V(id.ToString(System.Globalization.CultureInfo.InvariantCulture)), V(status), V(total), V(paid), V(placed), note ?? V("short note")];

    /// <summary>The key tuple of an <see cref="Orders"/> row (REPLICA IDENTITY DEFAULT: other columns are absent).</summary>
    public static ColumnValue[] OrderKey(int id) =>
        [V(id.ToString(System.Globalization.CultureInfo.InvariantCulture)), Null, Null, Null, Null, Null];

    /// <summary>When the transaction committed at <paramref name="commitLsn"/> committed.</summary>
    public static DateTime At(ulong commitLsn) => new DateTime(2024, 5, 1, 12, 0, 0, DateTimeKind.Utc).AddSeconds(commitLsn & 0xFFFF);

    /// <summary>The end LSN of the transaction committed at <paramref name="commitLsn"/>.</summary>
    public static ulong End(ulong commitLsn) => commitLsn + 0x28;

    public static BeginEvent Begin(uint xid, ulong commitLsn) => new(xid, commitLsn, At(commitLsn));

    public static CommitEvent Commit(ulong commitLsn) => new(commitLsn, End(commitLsn), At(commitLsn));

    private static ulong _position = 0x1_0000_0000;

    private static ulong NextPosition() => Interlocked.Add(ref _position, 0x40);

    public static RowEvent Insert(RelationInfo table, ColumnValue[] row, uint? stream = null) =>
        new(stream, table, Operation.Create, null, false, row, NextPosition(), DateTime.UtcNow);

    /// <summary>An update: without <paramref name="old"/> as under REPLICA IDENTITY DEFAULT with the key unchanged,
    /// with a whole old tuple as under REPLICA IDENTITY FULL, or a key tuple (<paramref name="keyOnly"/>).</summary>
    public static RowEvent Update(RelationInfo table, ColumnValue[] row, ColumnValue[]? old = null, bool keyOnly = false, uint? stream = null) =>
        new(stream, table, Operation.Update, old, keyOnly, row, NextPosition(), DateTime.UtcNow);

    public static RowEvent Delete(RelationInfo table, ColumnValue[] old, bool keyOnly = true, uint? stream = null) =>
        new(stream, table, Operation.Delete, old, keyOnly, null, NextPosition(), DateTime.UtcNow);

    public static TruncateEvent Truncate(params RelationInfo[] tables) => new(null, tables, NextPosition(), DateTime.UtcNow);

    /// <summary>A transactional context message, as <c>pg_logical_emit_message(true, prefix, json)</c> writes it.</summary>
    public static ContextMessageEvent Message(string json, string prefix = "hindsight", uint? stream = null)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        return new ContextMessageEvent(stream, prefix, bytes, bytes.Length);
    }

    /// <summary>A context message whose payload is <paramref name="payload"/>, kept (as the reader keeps it) up to
    /// <paramref name="limit"/> + 1 bytes.</summary>
    public static ContextMessageEvent MessageBytes(byte[] payload, int limit = 64 * 1024, string prefix = "hindsight") =>
        new(null, prefix, payload.Length > limit + 1 ? payload[..(limit + 1)] : payload, payload.Length);

    /// <summary><c>public.__EFMigrationsHistory ("MigrationId" varchar PRIMARY KEY, "ProductVersion" varchar)</c>.</summary>
    public static readonly RelationInfo EfHistory = new(16430, "public", "__EFMigrationsHistory",
        [new("MigrationId", Text), new("ProductVersion", Text)], [0], ReplicaIdentityFull: true);

    /// <summary>A schema change message as setup's event trigger writes it (an ALTER TABLE of <c>orders</c>), by
    /// (sub)transaction <paramref name="xid"/>.</summary>
    public static SchemaMessageEvent SchemaMessage(string statement, uint? xid = null, uint? stream = null)
    {
        var json = new System.Text.Json.Nodes.JsonObject
        {
            ["v"] = 1, ["tag"] = "ALTER TABLE", ["identity"] = "public.orders", ["relid"] = 16400, ["schema"] = "public",
            ["table"] = "orders", ["relkind"] = "r", ["role"] = "postgres", ["statement"] = statement, ["xid"] = xid,
            ["columns"] = new System.Text.Json.Nodes.JsonArray(), ["primary_key"] = new System.Text.Json.Nodes.JsonArray("id"),
        };
        return new SchemaMessageEvent(stream, Encoding.UTF8.GetBytes(json.ToJsonString()), NextPosition());
    }

    public static StreamStartEvent StreamStart(uint xid, bool first = false) => new(xid, first);

    public static StreamStopEvent StreamStop() => new();

    public static StreamCommitEvent StreamCommit(uint xid, ulong commitLsn) => new(xid, commitLsn, End(commitLsn), At(commitLsn));

    public static StreamAbortEvent StreamAbort(uint xid, uint subXid) => new(xid, subXid);
}
