namespace Hindsight.EntityFrameworkCore;

/// <summary>Where temporal queries find the trail, and what they demand of it (<c>UseHindsightTemporal</c>).</summary>
public sealed class HindsightTemporalOptions
{
    /// <summary>
    /// The source (<c>--source-name</c>) whose changes are read. Null: the changes of every source whose database has
    /// this connection's database name (<c>current_database()</c>); set it when one store holds several databases of
    /// that name.
    /// </summary>
    public string? Source { get; set; }

    /// <summary>
    /// The schema that holds the store's <c>changes</c> and <c>baselines</c> tables in this database: <c>hindsight</c>
    /// when the store is the tracked database itself. When the store is on another server, import its tables into a
    /// schema here with postgres_fdw and name that schema.
    /// </summary>
    public string StoreSchema { get; set; } = "hindsight";

    /// <summary>
    /// Throw <see cref="HindsightIncompleteHistoryException"/> rather than return what the trail holds when the trail
    /// cannot know the whole table at the moments asked for: no baseline (<c>setup --snapshot</c>) or TRUNCATE before
    /// them, so rows that existed before tracking began and never changed since are missing.
    /// </summary>
    public bool RequireCompleteHistory { get; set; }

    internal HindsightTemporalOptions Copy() => new() { Source = Source, StoreSchema = StoreSchema, RequireCompleteHistory = RequireCompleteHistory };
}
