namespace Hindsight.Query;

/// <summary>Which page of matching changes to read.</summary>
public sealed record PageRequest
{
    /// <summary>The largest page size accepted.</summary>
    public const int MaxLimit = 10_000;

    private readonly int _limit = 100;

    /// <summary>Changes per page, 1 to <see cref="MaxLimit"/> (default 100).</summary>
    /// <exception cref="ArgumentOutOfRangeException">Outside 1..<see cref="MaxLimit"/>.</exception>
    public int Limit
    {
        get => _limit;
        init => _limit = value is >= 1 and <= MaxLimit
            ? value
            : throw new ArgumentOutOfRangeException(nameof(Limit), value, $"limit must be between 1 and {MaxLimit:N0}");
    }

    /// <summary>Oldest first (ascending <see cref="Change.Id"/>) instead of the default newest first.</summary>
    public bool OldestFirst { get; init; }

    /// <summary>The <see cref="ChangePage.NextCursor"/> of the previous page; null for the first page.</summary>
    public long? Cursor { get; init; }
}
