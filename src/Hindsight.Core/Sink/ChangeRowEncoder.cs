using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Hindsight.Model;
using Npgsql;

namespace Hindsight.Sink;

/// <summary>
/// Encodes changes as tuples of PostgreSQL's binary COPY format for <c>hindsight.changes</c>, so the
/// sink hands the server bytes it can take as they are: the row images are already UTF-8 JSON, and
/// no per-field call into a COPY API is made.
/// </summary>
/// <remarks>
/// The fixed-size fields a streamed transaction only learns at its commit (commit LSN, ordinal,
/// commit time) come first, at fixed offsets, so a spilled tuple is completed by writing 20 bytes
/// in place (<see cref="Complete"/>) instead of being decoded and encoded again.
/// </remarks>
internal static class ChangeRowEncoder
{
    /// <summary>The stored columns in the tuples' order (also the column list of the sink's one-trip INSERT).</summary>
    public const string Columns =
        "commit_lsn, ordinal, committed_at, transaction_id, position, queued_at, " +
        "source, database, schema, \"table\", primary_key, operation, before, after, context";

    private const short FieldCount = 15;
    private const int CommitLsnOffset = 2 + 4;               // field count, length
    private const int OrdinalOffset = CommitLsnOffset + 8 + 4;
    private const int CommittedAtOffset = OrdinalOffset + 4 + 4;

    /// <summary>Fields of a tuple, by position, for readers of encoded tuples.</summary>
    public enum Field { CommitLsn, Ordinal, CommittedAt, TransactionId, Position, QueuedAt, Source, Database, Schema, Table, PrimaryKey, Operation, Before, After, Context }

    /// <summary>The binary COPY header: signature, flags, header extension length.</summary>
    public static ReadOnlyMemory<byte> Header { get; } = new byte[] { (byte)'P', (byte)'G', (byte)'C', (byte)'O', (byte)'P', (byte)'Y', (byte)'\n', 0xFF, (byte)'\r', (byte)'\n', 0, 0, 0, 0, 0, 0, 0, 0, 0 };

    /// <summary>The binary COPY trailer (a field count of -1).</summary>
    public static ReadOnlyMemory<byte> Trailer { get; } = new byte[] { 0xFF, 0xFF };

    /// <summary>A batch of tuples is copied once it holds this many bytes, whatever its row count: memory stays bounded for wide rows.</summary>
    public const int MaxBatchBytes = 8 << 20;

    /// <summary>Copies encoded tuples into <c>hindsight.changes</c> on <paramref name="store"/>, in its open transaction if any.</summary>
    public static ValueTask CopyAsync(NpgsqlConnection store, ReadOnlyMemory<byte> tuples, CancellationToken ct) =>
        CopyAsync(store, "hindsight.changes", tuples, ct);

    /// <summary>Copies encoded tuples into <paramref name="table"/> (a table with the columns of <see cref="Columns"/>).</summary>
    public static async ValueTask CopyAsync(NpgsqlConnection store, string table, ReadOnlyMemory<byte> tuples, CancellationToken ct)
    {
        // The tuples are already in COPY's binary format: one raw COPY hands them to the server as they are.
        var copy = await store.BeginRawBinaryCopyAsync($"COPY {table} ({Columns}) FROM STDIN (FORMAT BINARY)", ct).ConfigureAwait(false);
        await using var copyDisposal = copy.ConfigureAwait(false);
        await copy.WriteAsync(Header, ct).ConfigureAwait(false);
        await copy.WriteAsync(tuples, ct).ConfigureAwait(false);
        await copy.WriteAsync(Trailer, ct).ConfigureAwait(false);
    }

    /// <summary>The commit time written into a spilled tuple until its commit fills it in.</summary>
    public static readonly DateTime Blank = new(2000, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    private static readonly long PostgresEpochTicks = new DateTime(2000, 1, 1, 0, 0, 0, DateTimeKind.Utc).Ticks;
    private static readonly byte[][] OperationNames =
        Enum.GetValues<Operation>().Select(o => Encoding.UTF8.GetBytes(o.ToStored())).ToArray();

    /// <summary>Appends one tuple. <paramref name="source"/> and <paramref name="database"/> are the source's name and its database's name, as UTF-8.</summary>
    public static void Write(IBufferWriter<byte> output, ChangeRecord r, ReadOnlySpan<byte> source, ReadOnlySpan<byte> database,
        long transactionId, ulong commitLsn, DateTime committedAt, int ordinal)
    {
        var head = output.GetSpan(2 + 12 + 8 + 12 * 4);
        BinaryPrimitives.WriteInt16BigEndian(head, FieldCount);
        var at = 2;
        at = Int64(head, at, (long)commitLsn);
        at = Int32(head, at, ordinal);
        at = Int64(head, at, Timestamp(committedAt));
        at = Int64(head, at, transactionId);
        at = Int64(head, at, (long)r.Position);
        at = Int64(head, at, Timestamp(r.QueuedAt));
        output.Advance(at);
        Bytes(output, source);
        Bytes(output, database);
        Text(output, r.Schema);
        Text(output, r.Table);
        if (r.PrimaryKey is null) Null(output);
        else Text(output, r.PrimaryKey);
        Bytes(output, OperationNames[(int)r.Operation]);
        Jsonb(output, r.Before);
        Jsonb(output, r.After);
        Jsonb(output, r.Context);
    }

    /// <summary>Fills in a spilled tuple's commit LSN, ordinal and commit time, in place.</summary>
    public static void Complete(Span<byte> tuple, ulong commitLsn, int ordinal, DateTime committedAt)
    {
        BinaryPrimitives.WriteInt64BigEndian(tuple[CommitLsnOffset..], (long)commitLsn);
        BinaryPrimitives.WriteInt32BigEndian(tuple[OrdinalOffset..], ordinal);
        BinaryPrimitives.WriteInt64BigEndian(tuple[CommittedAtOffset..], Timestamp(committedAt));
    }

    /// <summary>One field of an encoded tuple (empty for NULL).</summary>
    public static ReadOnlySpan<byte> Read(ReadOnlySpan<byte> tuple, Field field)
    {
        var (at, length) = Locate(tuple, field);
        return length < 0 ? default : tuple.Slice(at, length);
    }

    /// <summary>The tuples laid end to end in <paramref name="tuples"/>, one by one.</summary>
    public static IEnumerable<ReadOnlyMemory<byte>> Split(ReadOnlyMemory<byte> tuples)
    {
        var at = 0;
        while (at < tuples.Length)
        {
            var length = TupleLength(tuples.Span[at..]);
            yield return tuples.Slice(at, length);
            at += length;
        }
    }

    // A tuple's length: the field count, then each field's length and bytes.
    private static int TupleLength(ReadOnlySpan<byte> tuple)
    {
        var at = 2;
        for (var i = 0; i < FieldCount; i++)
        {
            var length = BinaryPrimitives.ReadInt32BigEndian(tuple[at..]);
            at += 4 + Math.Max(0, length);
        }
        return at;
    }

    /// <summary>True when the field is NULL.</summary>
    public static bool IsNull(ReadOnlySpan<byte> tuple, Field field) => Locate(tuple, field).Length < 0;

    // Where a field's value starts and its length (-1 for NULL): fields are length-prefixed, so this walks them.
    private static (int At, int Length) Locate(ReadOnlySpan<byte> tuple, Field field)
    {
        var at = 2;
        for (var i = 0; ; i++)
        {
            var length = BinaryPrimitives.ReadInt32BigEndian(tuple[at..]);
            at += 4;
            if (i == (int)field) return (at, length);
            if (length > 0) at += length;
        }
    }

    private static long Timestamp(DateTime utc) => (utc.Ticks - PostgresEpochTicks) / TimeSpan.TicksPerMicrosecond;

    private static int Int64(Span<byte> s, int at, long value)
    {
        BinaryPrimitives.WriteInt32BigEndian(s[at..], 8);
        BinaryPrimitives.WriteInt64BigEndian(s[(at + 4)..], value);
        return at + 12;
    }

    private static int Int32(Span<byte> s, int at, int value)
    {
        BinaryPrimitives.WriteInt32BigEndian(s[at..], 4);
        BinaryPrimitives.WriteInt32BigEndian(s[(at + 4)..], value);
        return at + 8;
    }

    private static void Null(IBufferWriter<byte> output)
    {
        BinaryPrimitives.WriteInt32BigEndian(output.GetSpan(4), -1);
        output.Advance(4);
    }

    private static void Bytes(IBufferWriter<byte> output, ReadOnlySpan<byte> value)
    {
        var s = output.GetSpan(4 + value.Length);
        BinaryPrimitives.WriteInt32BigEndian(s, value.Length);
        value.CopyTo(s[4..]);
        output.Advance(4 + value.Length);
    }

    private static void Text(IBufferWriter<byte> output, string value)
    {
        var s = output.GetSpan(4 + Encoding.UTF8.GetMaxByteCount(value.Length));
        var n = Encoding.UTF8.GetBytes(value, s[4..]);
        BinaryPrimitives.WriteInt32BigEndian(s, n);
        output.Advance(4 + n);
    }

    // jsonb's binary form: a version byte (1), then the JSON text.
    private static void Jsonb(IBufferWriter<byte> output, ReadOnlySpan<byte> json)
    {
        var s = output.GetSpan(5 + json.Length);
        BinaryPrimitives.WriteInt32BigEndian(s, json.Length + 1);
        s[4] = 1;
        json.CopyTo(s[5..]);
        output.Advance(5 + json.Length);
    }
}
