using System.Text.Json.Serialization;

namespace Hindsight.Server.Contracts;

/// <summary>Every version of one row (<c>GET /api/history</c>).</summary>
/// <param name="Table">The table asked for.</param>
/// <param name="PrimaryKey">The key asked for.</param>
/// <param name="Versions">The versions, newest first unless asked otherwise; at most the server's page size.</param>
/// <param name="Truncated">Whether the row has more versions than were returned (the oldest, or newest, are left out).</param>
internal sealed record RecordHistoryDto(
    [property: JsonPropertyName("table")] string Table,
    [property: JsonPropertyName("primary_key")] string PrimaryKey,
    [property: JsonPropertyName("versions")] IReadOnlyList<RecordVersionDto> Versions,
    [property: JsonPropertyName("truncated")] bool Truncated)
{
    /// <summary>
    /// The schema changes of the row's table from the oldest version returned on (up to the newest returned when
    /// newer versions are left out), in the order of the versions, so a client can show them between the versions.
    /// </summary>
    [JsonPropertyName("schema_changes")] public IReadOnlyList<SchemaChangeDto> SchemaChanges { get; init; } = [];

    /// <summary>Whether the table had more schema changes in that span than were returned (the farthest from the
    /// newest are left out); <c>GET /api/schema-changes</c> lists them all.</summary>
    [JsonPropertyName("schema_changes_truncated")] public bool SchemaChangesTruncated { get; init; }
}
