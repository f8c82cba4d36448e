using System.Buffers.Binary;
using System.Globalization;
using NATS.Client.Core;

namespace Hindsight.Queue;

/// <summary>
/// A message on the queue: the rows of consecutive whole source transactions, or one part of a transaction too large for
/// one message, as the binary COPY tuples the store takes (each row carries its own transaction id, commit LSN, ordinal
/// and commit time). Small transactions share a message, as they share a store commit on the direct path; a large one is
/// split at row boundaries and its parts published as they fill, so a part knows whether it is the last, not how many
/// there are. The message id (<c>Nats-Msg-Id</c>) names the source, the first and last commit LSN and the part: the same
/// id always means the same rows, so JetStream drops a resend cut the same way; one cut differently is dropped at ingest
/// by the store's key.
/// </summary>
/// <param name="Source">The source's name in the store.</param>
/// <param name="Database">The source database's name.</param>
/// <param name="Slot">The replication slot capture reads (the store's progress row is the source's and the slot's).</param>
/// <param name="FirstCommitLsn">The commit LSN of the first transaction whose rows are here.</param>
/// <param name="LastCommitLsn">The commit LSN of the last (the same as the first for a part of a large transaction).</param>
/// <param name="EndLsn">The end LSN of the last transaction completed here (what the slot may be acknowledged up to); 0 in a part that is not the last.</param>
/// <param name="LastCommittedAt">The commit time of the last transaction.</param>
/// <param name="Part">The part's number within its transaction, from 1 (1 for whole transactions).</param>
/// <param name="Last">False for a part of a large transaction that more parts follow.</param>
/// <param name="Transactions">Transactions completed in this message (0 for a part that is not the last).</param>
/// <param name="Changes">Rows in this message.</param>
/// <param name="Tuples">The rows, as binary COPY tuples.</param>
public sealed record QueueMessage(string Source, string Database, string Slot, ulong FirstCommitLsn, ulong LastCommitLsn, ulong EndLsn,
    DateTime LastCommittedAt, int Part, bool Last, int Transactions, int Changes, ReadOnlyMemory<byte> Tuples)
{
    /// <summary>The format this code writes and reads.</summary>
    public const string Format = "changes-copy-v1";

    /// <summary>The default most bytes of rows in one message: under NATS's default 1 MiB payload, with room for headers.</summary>
    public const int DefaultPartBytes = 512 * 1024;

    /// <summary>The id JetStream de-duplicates by: <c>{source}:{first commit LSN}:{last commit LSN}:{part}</c>.</summary>
    public string MessageId => string.Create(CultureInfo.InvariantCulture, $"{Source}:{FirstCommitLsn:X16}:{LastCommitLsn:X16}:{Part}");

    /// <summary>
    /// The parts of one transaction: its tuples (concatenated binary COPY tuples, in ordinal order from 1) split at
    /// tuple boundaries into parts of at most <paramref name="partBytes"/> bytes (a larger tuple makes a part alone).
    /// </summary>
    public static IReadOnlyList<QueueMessage> Split(string source, string database, string slot, ulong commitLsn, ulong endLsn,
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
        for (var i = 0; i < cuts.Count; i++)
        {
            var (s, l, n) = cuts[i];
            var last = i == cuts.Count - 1;
            messages.Add(new QueueMessage(source, database, slot, commitLsn, commitLsn, last ? endLsn : 0, committedAt, i + 1, last, last ? 1 : 0, n, tuples.Slice(s, l)));
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
        ["Hindsight-First-Commit-Lsn"] = FirstCommitLsn.ToString("X16", CultureInfo.InvariantCulture),
        ["Hindsight-Last-Commit-Lsn"] = LastCommitLsn.ToString("X16", CultureInfo.InvariantCulture),
        ["Hindsight-End-Lsn"] = EndLsn.ToString("X16", CultureInfo.InvariantCulture),
        ["Hindsight-Last-Committed-At"] = LastCommittedAt.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture),
        ["Hindsight-Part"] = Part.ToString(CultureInfo.InvariantCulture),
        ["Hindsight-Last-Part"] = Last ? "true" : "false",
        ["Hindsight-Transactions"] = Transactions.ToString(CultureInfo.InvariantCulture),
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
            ulong.Parse(Header("Hindsight-First-Commit-Lsn"), NumberStyles.HexNumber, CultureInfo.InvariantCulture),
            ulong.Parse(Header("Hindsight-Last-Commit-Lsn"), NumberStyles.HexNumber, CultureInfo.InvariantCulture),
            ulong.Parse(Header("Hindsight-End-Lsn"), NumberStyles.HexNumber, CultureInfo.InvariantCulture),
            DateTime.Parse(Header("Hindsight-Last-Committed-At"), CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal),
            int.Parse(Header("Hindsight-Part"), CultureInfo.InvariantCulture),
            Header("Hindsight-Last-Part") switch { "true" => true, "false" => false, var v => throw new FormatException($"queue message with Hindsight-Last-Part '{v}'") },
            int.Parse(Header("Hindsight-Transactions"), CultureInfo.InvariantCulture),
            int.Parse(Header("Hindsight-Changes"), CultureInfo.InvariantCulture), body);
        if (message.Part < 1) throw new FormatException($"queue message part {message.Part}");
        if (message.FirstCommitLsn > message.LastCommitLsn) throw new FormatException($"queue message {message.MessageId} ends before it starts");
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
