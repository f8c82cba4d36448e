using System.Buffers.Binary;
using System.Globalization;
using NATS.Client.Core;

namespace Hindsight.Queue;

/// <summary>
/// One part of a source transaction on the queue: its rows as the binary COPY tuples the store takes, and headers that
/// say which transaction and which part. A transaction larger than the part limit is split at row boundaries, and its
/// parts are published as they fill (capture does not hold a large transaction in memory), so a part knows whether it is
/// the last, not how many there are. The message id (<c>Nats-Msg-Id</c>) is derived from the source, the commit LSN and
/// the part, so JetStream drops a resend.
/// </summary>
/// <param name="Source">The source's name in the store.</param>
/// <param name="Database">The source database's name.</param>
/// <param name="Slot">The replication slot capture reads (the store's progress row is the source's and the slot's).</param>
/// <param name="TransactionId">The source transaction's id.</param>
/// <param name="CommitLsn">Its commit LSN.</param>
/// <param name="EndLsn">Its end LSN (what the slot is acknowledged up to).</param>
/// <param name="CommittedAt">Its commit time.</param>
/// <param name="Part">This part's number, from 1.</param>
/// <param name="Last">True for the transaction's last part.</param>
/// <param name="FirstOrdinal">The ordinal of this part's first row.</param>
/// <param name="Changes">Rows in this part.</param>
/// <param name="Tuples">The rows, as binary COPY tuples.</param>
public sealed record QueueMessage(string Source, string Database, string Slot, long TransactionId, ulong CommitLsn, ulong EndLsn, DateTime CommittedAt,
    int Part, bool Last, int FirstOrdinal, int Changes, ReadOnlyMemory<byte> Tuples)
{
    /// <summary>The format this code writes and reads.</summary>
    public const string Format = "changes-copy-v1";

    /// <summary>The default most bytes of rows in one part: under NATS's default 1 MiB payload, with room for headers.</summary>
    public const int DefaultPartBytes = 512 * 1024;

    /// <summary>The id JetStream de-duplicates by: <c>{source}:{commit LSN}:{part}</c>.</summary>
    public string MessageId => string.Create(CultureInfo.InvariantCulture, $"{Source}:{CommitLsn:X16}:{Part}");

    /// <summary>
    /// The parts of one transaction: its tuples (concatenated binary COPY tuples, in ordinal order from 1) split at
    /// tuple boundaries into parts of at most <paramref name="partBytes"/> bytes (a larger tuple makes a part alone).
    /// </summary>
    public static IReadOnlyList<QueueMessage> Split(string source, string database, string slot, long transactionId, ulong commitLsn, ulong endLsn,
        DateTime committedAt, ReadOnlyMemory<byte> tuples, int partBytes = DefaultPartBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(partBytes, 1);
        var cuts = new List<(int Start, int Length, int Rows)>();
        int start = 0, at = 0, rows = 0;
        var span = tuples.Span;
        while (at < span.Length)
        {
            var length = TupleLength(span[at..]);
            if (at > start && at - start + length > partBytes)
            {
                cuts.Add((start, at - start, rows));
                start = at;
                rows = 0;
            }
            at += length;
            rows++;
        }
        cuts.Add((start, at - start, rows));
        var messages = new List<QueueMessage>(cuts.Count);
        var ordinal = 1;
        for (var i = 0; i < cuts.Count; i++)
        {
            var (s, l, n) = cuts[i];
            messages.Add(new QueueMessage(source, database, slot, transactionId, commitLsn, endLsn, committedAt, i + 1, i == cuts.Count - 1, ordinal, n, tuples.Slice(s, l)));
            ordinal += n;
        }
        return messages;
    }

    /// <summary>The headers of this part.</summary>
    public NatsHeaders Headers() => new()
    {
        ["Nats-Msg-Id"] = MessageId,
        ["Hindsight-Format"] = Format,
        ["Hindsight-Source"] = Source,
        ["Hindsight-Database"] = Database,
        ["Hindsight-Slot"] = Slot,
        ["Hindsight-Xid"] = TransactionId.ToString(CultureInfo.InvariantCulture),
        ["Hindsight-Commit-Lsn"] = CommitLsn.ToString("X16", CultureInfo.InvariantCulture),
        ["Hindsight-End-Lsn"] = EndLsn.ToString("X16", CultureInfo.InvariantCulture),
        ["Hindsight-Committed-At"] = CommittedAt.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture),
        ["Hindsight-Part"] = Part.ToString(CultureInfo.InvariantCulture),
        ["Hindsight-Last-Part"] = Last ? "true" : "false",
        ["Hindsight-First-Ordinal"] = FirstOrdinal.ToString(CultureInfo.InvariantCulture),
        ["Hindsight-Changes"] = Changes.ToString(CultureInfo.InvariantCulture),
    };

    /// <summary>Reads a part from its headers and body.</summary>
    /// <exception cref="FormatException">A header is missing or malformed, the format is not this one, or the body does not hold the rows the headers count.</exception>
    public static QueueMessage Read(NatsHeaders headers, ReadOnlyMemory<byte> body)
    {
        ArgumentNullException.ThrowIfNull(headers);
        string Header(string name) => headers.TryGetValue(name, out var v) && v.Count == 1 && v[0] is { Length: > 0 } s
            ? s : throw new FormatException($"queue message without its {name} header");
        if (Header("Hindsight-Format") != Format) throw new FormatException($"queue message in format {Header("Hindsight-Format")}, not {Format}");
        var message = new QueueMessage(Header("Hindsight-Source"), Header("Hindsight-Database"), Header("Hindsight-Slot"),
            long.Parse(Header("Hindsight-Xid"), CultureInfo.InvariantCulture),
            ulong.Parse(Header("Hindsight-Commit-Lsn"), NumberStyles.HexNumber, CultureInfo.InvariantCulture),
            ulong.Parse(Header("Hindsight-End-Lsn"), NumberStyles.HexNumber, CultureInfo.InvariantCulture),
            DateTime.Parse(Header("Hindsight-Committed-At"), CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal),
            int.Parse(Header("Hindsight-Part"), CultureInfo.InvariantCulture),
            Header("Hindsight-Last-Part") switch { "true" => true, "false" => false, var v => throw new FormatException($"queue message with Hindsight-Last-Part '{v}'") },
            int.Parse(Header("Hindsight-First-Ordinal"), CultureInfo.InvariantCulture),
            int.Parse(Header("Hindsight-Changes"), CultureInfo.InvariantCulture), body);
        if (message.Part < 1) throw new FormatException($"queue message part {message.Part}");
        var rows = 0;
        for (var at = 0; at < body.Length; rows++) at += TupleLength(body.Span[at..]);
        if (rows != message.Changes) throw new FormatException($"queue message {message.MessageId} holds {rows} rows, its header says {message.Changes}");
        return message;
    }

    /// <summary>The length of the binary COPY tuple at the start of <paramref name="span"/>: a field count, then each field's length and bytes (-1: NULL).</summary>
    internal static int TupleLength(ReadOnlySpan<byte> span)
    {
        if (span.Length < 2) throw new FormatException("a truncated row");
        var fields = BinaryPrimitives.ReadInt16BigEndian(span);
        var at = 2;
        for (var i = 0; i < fields; i++)
        {
            if (span.Length < at + 4) throw new FormatException("a truncated row");
            var length = BinaryPrimitives.ReadInt32BigEndian(span[at..]);
            at += 4 + Math.Max(0, length);
            if (at > span.Length) throw new FormatException("a truncated row");
        }
        return at;
    }
}
