using System.Globalization;
using Hindsight.Model;
using NpgsqlTypes;

namespace Hindsight.Query;

/// <summary>
/// The point in a database's history an as-of reads at (<see cref="AuditTrail.AsOfAsync(TableName, AsOfPoint, string?, string?, string?, CancellationToken)"/>):
/// a moment, the commit of one source transaction, or a WAL position. Exactly one of <see cref="Time"/>,
/// <see cref="TransactionId"/> and <see cref="Lsn"/> is set; build one with <see cref="At"/>, <see cref="AfterTransaction"/>
/// or <see cref="AtLsn"/>.
/// </summary>
/// <remarks>
/// A moment counts the changes committed at or before it; commit times can tie (two transactions committed in the same
/// microsecond) and cannot tell such commits apart. A transaction or an LSN counts the changes whose commit LSN is at
/// or before the point's: within one database commit order is exactly commit LSN order, so the state is the one right
/// after that commit, whatever the clock said.
/// </remarks>
public sealed class AsOfPoint : IEquatable<AsOfPoint>
{
    private AsOfPoint(DateTimeOffset? time, long? transactionId, NpgsqlLogSequenceNumber? lsn)
    {
        Time = time;
        TransactionId = transactionId;
        Lsn = lsn;
    }

    /// <summary>The moment (UTC), for a point built with <see cref="At"/>.</summary>
    public DateTimeOffset? Time { get; }

    /// <summary>The source transaction (xid), for a point built with <see cref="AfterTransaction"/>.</summary>
    public long? TransactionId { get; }

    /// <summary>The WAL position, for a point built with <see cref="AtLsn"/>.</summary>
    public NpgsqlLogSequenceNumber? Lsn { get; }

    /// <summary>The table as it was at <paramref name="time"/>: every change committed at or before it counts.</summary>
    public static AsOfPoint At(DateTimeOffset time) => new(time.ToUniversalTime(), null, null);

    /// <summary>
    /// The table as it was right after source transaction <paramref name="transactionId"/> committed: every change of its
    /// database whose commit LSN is at or before that transaction's counts (the transaction's own changes included).
    /// </summary>
    /// <param name="transactionId">The source xid, as stored in <c>transaction_id</c> (0 to 4294967295).</param>
    /// <exception cref="ArgumentOutOfRangeException">Not a 32-bit transaction id.</exception>
    public static AsOfPoint AfterTransaction(long transactionId)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(transactionId);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(transactionId, uint.MaxValue);
        return new(null, transactionId, null);
    }

    /// <summary>The table as it was at WAL position <paramref name="lsn"/>: every change whose commit LSN is at or before it counts.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An LSN beyond the store's bigint range (above 7FFFFFFF/FFFFFFFF).</exception>
    public static AsOfPoint AtLsn(NpgsqlLogSequenceNumber lsn)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan((ulong)lsn, (ulong)long.MaxValue, nameof(lsn));
        return new(null, null, lsn);
    }

    /// <summary>For people: the time in ISO 8601 UTC, <c>transaction 1234</c>, or <c>LSN 0/16B3748</c>.</summary>
    public override string ToString() =>
        Time is { } t ? t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture)
        : TransactionId is { } x ? string.Create(CultureInfo.InvariantCulture, $"transaction {x}")
        : $"LSN {Lsn}";

    /// <inheritdoc/>
    public bool Equals(AsOfPoint? other) =>
        other is not null && Time == other.Time && TransactionId == other.TransactionId && Lsn == other.Lsn;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as AsOfPoint);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Time, TransactionId, Lsn);
}
