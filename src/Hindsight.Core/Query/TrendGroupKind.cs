namespace Hindsight.Query;

/// <summary>The dimensions a trend can be grouped by.</summary>
public enum TrendGroupKind
{
    /// <summary>schema.table.</summary>
    Table,
    /// <summary>CREATE, UPDATE, DELETE, TRUNCATE, SNAPSHOT.</summary>
    Operation,
    /// <summary>The value of one top-level context key.</summary>
    Context,
    /// <summary>The source (a tracked database of the store, by its name).</summary>
    Source,
}
