using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Hindsight.Sink;

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
internal sealed class ChangeLeaf : IDisposable
{
    /// <summary>The first byte of a change's leaf input (interior nodes start with 0x01, block headers with 0x02).</summary>
    public const byte Domain = 0x00;

    private const long UnixToPostgresEpochMicros = 946_684_800_000_000;

    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly ArrayBufferWriter<byte> _json = new(1024);
    private readonly byte[] _number = new byte[8];

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
        _hash.AppendData([Domain]);
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
        _hash.GetHashAndReset(output);
        return (commitLsn, ordinal, committedAt);
    }

    /// <summary>The leaf hash of a change read from the store (the verifier's side): the jsonb columns as the server's text.</summary>
    public void FromStored(StoredChange c, Span<byte> output)
    {
        _hash.AppendData([Domain]);
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
        _hash.GetHashAndReset(output);
    }

    private void Text(ReadOnlySpan<byte> utf8, bool isNull)
    {
        BinaryPrimitives.WriteUInt32BigEndian(_number, isNull ? uint.MaxValue : (uint)utf8.Length);
        _hash.AppendData(_number, 0, 4);
        if (!isNull) _hash.AppendData(utf8);
    }

    private void Text(string? value)
    {
        if (value is null) { Text(default, isNull: true); return; }
        var bytes = Encoding.UTF8.GetBytes(value);
        Text(bytes, isNull: false);
    }

    private void Jsonb(ReadOnlySpan<byte> json)
    {
        _json.ResetWrittenCount();
        JsonbText.Write(json, _json);
        Text(_json.WrittenSpan, isNull: false);
    }

    private void Int64(long value)
    {
        BinaryPrimitives.WriteInt64BigEndian(_number, value);
        _hash.AppendData(_number);
    }

    /// <inheritdoc />
    public void Dispose() => _hash.Dispose();

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
