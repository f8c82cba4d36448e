using System.Text.Json.Serialization;
using Hindsight.Query;

namespace Hindsight.Server.Contracts;

/// <summary>A column of a table as a schema change left it.</summary>
/// <param name="Number">Its number in the source (attnum): renames and retypes keep it.</param>
/// <param name="Name">Its name.</param>
/// <param name="Type">Its type, as PostgreSQL's <c>format_type()</c> writes it.</param>
/// <param name="NotNull">Whether it is NOT NULL.</param>
/// <param name="Default">Its default expression (a generated column's generation expression), or null.</param>
/// <param name="Generated">Whether it is a generated column.</param>
internal sealed record TableColumnDto(
    [property: JsonPropertyName("number")] int Number,
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("not_null")] bool NotNull,
    [property: JsonPropertyName("default")] string? Default,
    [property: JsonPropertyName("generated")] bool Generated)
{
    /// <summary>The wire form of a column.</summary>
    public static TableColumnDto From(TableColumn c) => new(c.Number, c.Name, c.Type, c.NotNull, c.Default, c.Generated);
}
