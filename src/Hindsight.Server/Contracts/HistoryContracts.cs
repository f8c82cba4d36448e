using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Hindsight.Model;
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

/// <summary>Every version of one row (<c>GET /api/history</c>).</summary>
/// <param name="Table">The table asked for.</param>
/// <param name="PrimaryKey">The key asked for.</param>
/// <param name="Versions">The versions, newest first unless asked otherwise; at most the server's page size.</param>
/// <param name="Truncated">Whether the row has more versions than were returned (the oldest, or newest, are left out).</param>
internal sealed record RecordHistoryDto(
    [property: JsonPropertyName("table")] string Table,
    [property: JsonPropertyName("primary_key")] string PrimaryKey,
    [property: JsonPropertyName("versions")] IReadOnlyList<RecordVersionDto> Versions,
    [property: JsonPropertyName("truncated")] bool Truncated);

/// <summary>One row as it was at the moment asked for.</summary>
/// <param name="Source">The source (its name in the store).</param>
/// <param name="Database">The tracked database.</param>
/// <param name="Schema">The table's schema.</param>
/// <param name="Table">The table.</param>
/// <param name="PrimaryKey">The row's key as stored.</param>
/// <param name="Row">The row image then.</param>
/// <param name="ChangeId">The change that left the row so.</param>
/// <param name="ChangedAt">When that change committed (UTC).</param>
internal sealed record AsOfRowDto(
    [property: JsonPropertyName("source")] string Source,
    [property: JsonPropertyName("database")] string Database,
    [property: JsonPropertyName("schema")] string Schema,
    [property: JsonPropertyName("table")] string Table,
    [property: JsonPropertyName("primary_key")] string PrimaryKey,
    [property: JsonPropertyName("row")] JsonObject Row,
    [property: JsonPropertyName("change_id")] long ChangeId,
    [property: JsonPropertyName("changed_at")] string ChangedAt)
{
    /// <summary>
    /// This row's columns whose values <see cref="Row"/> does not hold as data, column → <c>generated</c> (not
    /// published by the source: absent from the row) or <c>redacted</c> (the row holds a <c>redacted:…</c> digest).
    /// </summary>
    [JsonPropertyName("untracked_columns")] public IReadOnlyDictionary<string, string> UntrackedColumns { get; init; } = new Dictionary<string, string>();

    /// <summary>The wire form of an as-of row.</summary>
    public static AsOfRowDto From(AsOfRow r) => new(r.Source, r.Database, r.Schema, r.Table, r.PrimaryKey, r.Row, r.ChangeId, ApiTime.Format(r.ChangedAt))
    {
        UntrackedColumns = Names(r.UntrackedColumns),
    };

    /// <summary>column → reason, with the reasons as the API spells them.</summary>
    internal static Dictionary<string, string> Names(IReadOnlyDictionary<string, UntrackedReason> untracked) =>
        untracked.ToDictionary(c => c.Key, c => UntrackedReasons.Name(c.Value), StringComparer.Ordinal);
}

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
