using System.Text.Json.Serialization;

namespace Hindsight.Server.Contracts;

/// <summary>A column of a tracked table whose values the stored images do not hold.</summary>
/// <param name="Schema">The table's schema.</param>
/// <param name="Table">The table.</param>
/// <param name="Column">The column.</param>
/// <param name="Reason"><c>generated</c> (not published by the server) or <c>redacted</c>.</param>
internal sealed record UntrackedColumnDto(
    [property: JsonPropertyName("schema")] string Schema,
    [property: JsonPropertyName("table")] string Table,
    [property: JsonPropertyName("column")] string Column,
    [property: JsonPropertyName("reason")] string Reason)
{
    /// <summary>The wire form of an untracked column.</summary>
    public static UntrackedColumnDto From(Model.UntrackedColumn c) =>
        new(c.Schema, c.Table, c.Column, Model.UntrackedReasons.Name(c.Reason));
}
