using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Hindsight.Query;

namespace Hindsight.Server.Contracts;

/// <summary>One version of a row: the change, the row it left, and its column diff.</summary>
/// <param name="Change">The stored change.</param>
/// <param name="Row">The row after the change; null when the change removed it.</param>
/// <param name="Diff">Columns added, removed or changed by this step.</param>
internal sealed record RecordVersionDto(
    [property: JsonPropertyName("change")] ChangeDto Change,
    [property: JsonPropertyName("row")] JsonObject? Row,
    [property: JsonPropertyName("diff")] IReadOnlyList<ColumnChangeDto> Diff)
{
    /// <summary>The wire form of a version.</summary>
    public static RecordVersionDto From(RecordVersion v) => new(ChangeDto.From(v.Change), v.Row, v.Diff.Select(ColumnChangeDto.From).ToList());
}
