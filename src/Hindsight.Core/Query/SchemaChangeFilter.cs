using Hindsight.Model;

namespace Hindsight.Query;

/// <summary>Which schema changes to read. Every criterion that is set must hold; within a list, any entry may match.</summary>
public sealed record SchemaChangeFilter
{
    /// <summary>The largest <see cref="Limit"/> accepted.</summary>
    public const int MaxLimit = 10_000;

    private readonly int _limit = 100;

    /// <summary>Tables to include, by any name they had (a bare name means that table in any schema). Empty: all tables.</summary>
    public IReadOnlyList<TableName> Tables { get; init; } = [];

    /// <summary>Changes committed at or after this time (inclusive).</summary>
    public DateTimeOffset? Since { get; init; }

    /// <summary>Changes committed before this time (exclusive).</summary>
    public DateTimeOffset? Until { get; init; }

    /// <summary>The source, by its name in the store. Null: every source.</summary>
    public string? Source { get; init; }

    /// <summary>The tracked database, by name. Null: every database.</summary>
    public string? Database { get; init; }

    /// <summary>Also list the columns setup recorded when tracking began (<c>SNAPSHOT</c>). Default: only real changes.</summary>
    public bool IncludeSnapshots { get; init; }

    /// <summary>At most this many, newest first (1 to <see cref="MaxLimit"/>; default 100).</summary>
    /// <exception cref="ArgumentOutOfRangeException">Outside 1 to <see cref="MaxLimit"/>.</exception>
    public int Limit
    {
        get => _limit;
        init => _limit = value is >= 1 and <= MaxLimit ? value
            : throw new ArgumentOutOfRangeException(nameof(value), value, $"limit must be between 1 and {MaxLimit}");
    }
}
