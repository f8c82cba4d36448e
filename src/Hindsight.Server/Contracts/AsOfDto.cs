using System.Text.Json.Serialization;

namespace Hindsight.Server.Contracts;

/// <summary>A table, or one row, as it was at a moment (<c>GET /api/as-of</c>).</summary>
/// <param name="Table">The table asked for.</param>
/// <param name="At">The moment (UTC).</param>
/// <param name="Rows">The rows then, ordered by key; at most the server's page size.</param>
/// <param name="RowCount">How many rows this answer holds (a table is read one page at a time: its total is not counted).</param>
/// <param name="Truncated">Whether more rows follow this page.</param>
/// <param name="NextAfter">The <c>after</c> parameter for the next page (the last key of this one); null on the last page.</param>
/// <param name="Complete">Whether the rows are every row the table had (a baseline is stored).</param>
/// <param name="TrackingSince">Commit time of the oldest stored change (UTC); null for an empty store.</param>
/// <param name="CompletenessNote">How complete the answer is, in one sentence for people.</param>
internal sealed record AsOfDto(
    [property: JsonPropertyName("table")] string Table,
    [property: JsonPropertyName("at")] string At,
    [property: JsonPropertyName("rows")] IReadOnlyList<AsOfRowDto> Rows,
    [property: JsonPropertyName("row_count")] int RowCount,
    [property: JsonPropertyName("truncated")] bool Truncated,
    [property: JsonPropertyName("next_after")] string? NextAfter,
    [property: JsonPropertyName("complete")] bool Complete,
    [property: JsonPropertyName("tracking_since")] string? TrackingSince,
    [property: JsonPropertyName("completeness_note")] string CompletenessNote)
{
    /// <summary>
    /// The table's columns that the rows do not hold as data, column → <c>generated</c> (generated columns the source
    /// does not publish: no row has a value for them) or <c>redacted</c> (some row holds a <c>redacted:…</c> digest);
    /// each row says which apply to it (<see cref="AsOfRowDto.UntrackedColumns"/>).
    /// </summary>
    [JsonPropertyName("untracked_columns")] public IReadOnlyDictionary<string, string> UntrackedColumns { get; init; } = new Dictionary<string, string>();

    /// <summary>The untracked columns in one sentence for people; null when none.</summary>
    [JsonPropertyName("untracked_note")] public string? UntrackedNote { get; init; }
}
