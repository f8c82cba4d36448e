using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Hindsight.Sink;
using Npgsql;

namespace Hindsight.Chain;

/// <summary>
/// The leaf hash of a stored change: SHA-256 of 0x00 and the change's canonical encoding (docs/verification.md,
/// "The canonical encoding"). Frozen: a verifier in any language computes the same bytes from the store's columns.
/// </summary>
/// <remarks>
/// Fields, in this order: source, database, schema, table, primary_key, operation, before, after, context (texts:
/// a 4-byte big-endian length and the UTF-8 bytes; a null primary key is the length 0xFFFFFFFF and nothing; the jsonb
/// columns as PostgreSQL's jsonb text output, <c>before::text</c>), then committed_at (microseconds since
/// 1970-01-01 UTC), transaction_id, position, commit_lsn and ordinal, each an 8-byte big-endian signed integer.
/// <c>id</c>, <c>queued_at</c> and <c>created_at</c> are not in it: they say how the store was written, not what happened.
/// </remarks>
internal sealed class ChangeLeaf
{
    /// <summary>The first byte of a change's leaf input (interior nodes start with 0x01, block headers with 0x02).</summary>
    public const byte Domain = 0x00;

    private const long UnixToPostgresEpochMicros = 946_684_800_000_000;

    // The leaf's whole input is laid out here, then hashed in one call: cheaper than feeding a hash field by field.
    private readonly ArrayBufferWriter<byte> _input = new(4096);

    /// <summary>The leaf hash of a tuple encoded by <see cref="ChangeRowEncoder"/> (the writer's side).</summary>
    /// <returns>The change's identity within its source (its commit LSN and ordinal) and its commit time (microseconds since 1970).</returns>
    public (long CommitLsn, int Ordinal, long CommittedAtMicros) FromTuple(ReadOnlySpan<byte> tuple, Span<byte> output)
    {
        var fields = new TupleFields(tuple);
        var commitLsn = fields.Int64();
        var ordinal = fields.Int32();
        var committedAt = fields.Int64() + UnixToPostgresEpochMicros;
        var transactionId = fields.Int64();
        var position = fields.Int64();
        fields.Skip(); // queued_at
        Begin();
        for (var i = 0; i < 6; i++) // source, database, schema, table, primary_key (null or text), operation
        {
            var value = fields.Next(out var isNull);
            Text(value, isNull);
        }
        for (var i = 0; i < 3; i++) // before, after, context: jsonb's binary form, a version byte and then the text
            Jsonb(fields.Next(out _)[1..]);
        Int64(committedAt);
        Int64(transactionId);
        Int64(position);
        Int64(commitLsn);
        Int64(ordinal);
        SHA256.HashData(_input.WrittenSpan, output);
        return (commitLsn, ordinal, committedAt);
    }

    /// <summary>The leaf hash of a change read from the store (the verifier's side): the jsonb columns as the server's text.</summary>
    public void FromStored(StoredChange c, Span<byte> output)
    {
        Begin();
        Text(c.Source);
        Text(c.Database);
        Text(c.Schema);
        Text(c.Table);
        Text(c.PrimaryKey);
        Text(c.Operation);
        Text(c.Before);
        Text(c.After);
        Text(c.Context);
        Int64(c.CommittedAtMicros);
        Int64(c.TransactionId);
        Int64(c.Position);
        Int64(c.CommitLsn);
        Int64(c.Ordinal);
        SHA256.HashData(_input.WrittenSpan, output);
    }

    /// <summary>The columns <see cref="FromReader"/> reads, in order (after the id).</summary>
    public const string StoredColumns =
        "id, database, schema, \"table\", primary_key, operation, before, after, context, committed_at, transaction_id, position, commit_lsn, ordinal";

    /// <summary>
    /// The leaf hash of the current row of a query selecting <see cref="StoredColumns"/> for <paramref name="sourceUtf8"/>:
    /// texts and jsonb taken as the bytes the server sent, no string made (what a verification of millions of changes spends its time on).
    /// </summary>
    /// <returns>The change's commit LSN and ordinal.</returns>
    public (long CommitLsn, int Ordinal) FromReader(NpgsqlDataReader r, ReadOnlySpan<byte> sourceUtf8, Span<byte> output)
    {
        Begin();
        Text(sourceUtf8, isNull: false);
        for (var i = 1; i <= 5; i++) Raw(r, i, skip: 0); // database, schema, table, primary_key, operation
        for (var i = 6; i <= 8; i++) Raw(r, i, skip: 1); // before, after, context: jsonb's binary form, a version byte and the text
        var commitLsn = r.GetInt64(12);
        var ordinal = r.GetInt32(13);
        Int64((r.GetDateTime(9).Ticks - DateTime.UnixEpoch.Ticks) / 10);
        Int64(r.GetInt64(10));
        Int64(r.GetInt64(11));
        Int64(commitLsn);
        Int64(ordinal);
        SHA256.HashData(_input.WrittenSpan, output);
        return (commitLsn, ordinal);
    }

    private void Begin()
    {
        _input.ResetWrittenCount();
        _input.GetSpan(1)[0] = Domain;
        _input.Advance(1);
    }

    // A column's bytes as they came, length-prefixed; skip drops jsonb's version byte.
    private void Raw(NpgsqlDataReader r, int ordinal, int skip)
    {
        if (r.IsDBNull(ordinal)) { Text(default, isNull: true); return; }
        using var stream = r.GetStream(ordinal);
        var length = (int)stream.Length - skip;
        var span = _input.GetSpan(4 + length + skip);
        BinaryPrimitives.WriteUInt32BigEndian(span, (uint)length);
        var target = span.Slice(4, length + skip);
        var read = 0;
        while (read < target.Length)
        {
            var n = stream.Read(target[read..]);
            if (n == 0) throw new EndOfStreamException("a column ended before its length");
            read += n;
        }
        if (skip > 0) target[skip..].CopyTo(target);
        _input.Advance(4 + length);
    }

    private void Text(ReadOnlySpan<byte> utf8, bool isNull)
    {
        var span = _input.GetSpan(4 + utf8.Length);
        BinaryPrimitives.WriteUInt32BigEndian(span, isNull ? uint.MaxValue : (uint)utf8.Length);
        if (!isNull) utf8.CopyTo(span[4..]);
        _input.Advance(4 + (isNull ? 0 : utf8.Length));
    }

    private void Text(string? value)
    {
        if (value is null) { Text(default, isNull: true); return; }
        var span = _input.GetSpan(4 + Encoding.UTF8.GetMaxByteCount(value.Length));
        var n = Encoding.UTF8.GetBytes(value, span[4..]);
        BinaryPrimitives.WriteUInt32BigEndian(span, (uint)n);
        _input.Advance(4 + n);
    }

    // The canonical text written in place, after a length filled in once it is known.
    private void Jsonb(ReadOnlySpan<byte> json)
    {
        var lengthAt = _input.WrittenCount;
        _input.GetSpan(4);
        _input.Advance(4);
        JsonbText.Write(json, _input);
        var length = _input.WrittenCount - lengthAt - 4;
        BinaryPrimitives.WriteUInt32BigEndian(WrittenAt(lengthAt), (uint)length);
    }

    private Span<byte> WrittenAt(int offset) =>
        System.Runtime.InteropServices.MemoryMarshal.AsMemory(_input.WrittenMemory).Span.Slice(offset, 4);

    private void Int64(long value)
    {
        BinaryPrimitives.WriteInt64BigEndian(_input.GetSpan(8), value);
        _input.Advance(8);
    }

    // Walks the length-prefixed fields of a binary COPY tuple once.
    private ref struct TupleFields(ReadOnlySpan<byte> tuple)
    {
        private readonly ReadOnlySpan<byte> _tuple = tuple;
        private int _at = 2; // after the field count

        public ReadOnlySpan<byte> Next(out bool isNull)
        {
            var length = BinaryPrimitives.ReadInt32BigEndian(_tuple[_at..]);
            _at += 4;
            isNull = length < 0;
            if (isNull) return default;
            var value = _tuple.Slice(_at, length);
            _at += length;
            return value;
        }

        public void Skip() => Next(out _);
        public long Int64() => BinaryPrimitives.ReadInt64BigEndian(Next(out _));
        public int Int32() => BinaryPrimitives.ReadInt32BigEndian(Next(out _));
    }
}

/// <summary>A change as the verifier reads it from the store: the jsonb columns as the server's text output.</summary>
internal sealed record StoredChange(
    long Id, string Source, string Database, string Schema, string Table, string? PrimaryKey, string Operation,
    string Before, string After, string Context, long CommittedAtMicros, long TransactionId, long Position, long CommitLsn, int Ordinal);
