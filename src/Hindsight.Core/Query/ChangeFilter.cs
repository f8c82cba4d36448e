using Hindsight.Model;

namespace Hindsight.Query;

/// <summary>
/// Which changes to read (docs/design.md, "Reading the trail"). Every criterion that is set must hold (AND); within a list, any entry may
/// match (OR). An empty filter matches every change. All values reach PostgreSQL as parameters.
/// </summary>
/// <remarks>
/// JSON criteria are containment (<c>@&gt;</c>): <c>{"userId":"u1"}</c> matches a context that has that key with that
/// value, whatever else it holds. They must be JSON objects; anything else is refused when the filter is built, with an
/// <see cref="ArgumentException"/>. An empty object (<c>{}</c>) filters nothing.
/// </remarks>
public sealed record ChangeFilter
{
    private readonly string? _context;
    private readonly string? _before;
    private readonly string? _after;

    /// <summary>Tables to include (<see cref="TableName"/>: a bare name means that table in any schema). Empty: all tables.</summary>
    public IReadOnlyList<TableName> Tables { get; init; } = [];

    /// <summary>The primary key as stored: its text, or a composite key as a JSON array (<c>[1,"a"]</c>; spacing does not matter).</summary>
    public string? PrimaryKey { get; init; }

    /// <summary>Operations to include. Empty: all.</summary>
    public IReadOnlyList<Operation> Operations { get; init; } = [];

    /// <summary>Changes committed at or after this time (inclusive).</summary>
    public DateTimeOffset? Since { get; init; }

    /// <summary>Changes committed before this time (exclusive: consecutive windows do not overlap).</summary>
    public DateTimeOffset? Until { get; init; }

    /// <summary>Changes of this source transaction (xid).</summary>
    public long? TransactionId { get; init; }

    /// <summary>The source the changes were captured from, by its name in the store. Null: every source.</summary>
    public string? Source { get; init; }

    /// <summary>The tracked database the changes were made in, by name (on any server). Null: every database in the store.</summary>
    public string? Database { get; init; }

    /// <summary>JSON object the change's context must contain.</summary>
    /// <exception cref="ArgumentException">Not a JSON object.</exception>
    public string? Context { get => _context; init => _context = JsonText.RequireObject(value, "context"); }

    /// <summary>JSON object the row image before the change must contain (fast with <c>setup --index-images</c>).</summary>
    /// <exception cref="ArgumentException">Not a JSON object.</exception>
    public string? Before { get => _before; init => _before = JsonText.RequireObject(value, "before"); }

    /// <summary>JSON object the row image after the change must contain (fast with <c>setup --index-images</c>).</summary>
    /// <exception cref="ArgumentException">Not a JSON object.</exception>
    public string? After { get => _after; init => _after = JsonText.RequireObject(value, "after"); }
}
