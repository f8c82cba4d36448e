namespace Hindsight.Query;

/// <summary>Which page of a table's as-of to read (<see cref="AuditTrail.AsOfPageAsync"/>): keyset paging by primary key.</summary>
public sealed record AsOfPage
{
    /// <summary>Creates a page request of at most <paramref name="limit"/> rows whose keys come after <paramref name="afterKey"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="limit"/> is not positive.</exception>
    public AsOfPage(int limit, string? afterKey = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        Limit = limit;
        AfterKey = afterKey;
    }

    /// <summary>Most rows in the page.</summary>
    public int Limit { get; }

    /// <summary>Only keys after this one (bytewise, as the store orders keys); null for the first page. The previous page's <see cref="AsOfResult.NextKey"/>.</summary>
    public string? AfterKey { get; }
}
