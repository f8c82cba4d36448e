namespace Hindsight.Setup;

/// <summary>One table of a baseline: how many rows were stored as SNAPSHOT changes.</summary>
/// <param name="Schema">The table's schema.</param>
/// <param name="Table">The table (a partitioned table under its root).</param>
/// <param name="Rows">Rows copied.</param>
public sealed record BaselineTable(string Schema, string Table, long Rows);
