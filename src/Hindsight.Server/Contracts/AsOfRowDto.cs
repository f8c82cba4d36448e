using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Hindsight.Model;
using Hindsight.Query;

namespace Hindsight.Server.Contracts;

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
