using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Hindsight.Server.Contracts;

/// <summary>One statement of a plan.</summary>
/// <param name="Change">The change it undoes; null for a rollback.</param>
/// <param name="Operation">That change's operation.</param>
/// <param name="Action">DELETE, INSERT or UPDATE.</param>
/// <param name="Table">The table it writes.</param>
/// <param name="PrimaryKey">The row's key.</param>
/// <param name="Sql">The statement; values only as parameters.</param>
/// <param name="Parameters">Its parameters (row images).</param>
internal sealed record RevertStatementDto(
    [property: JsonPropertyName("change")] long? Change,
    [property: JsonPropertyName("operation")] string? Operation,
    [property: JsonPropertyName("action")] string Action,
    [property: JsonPropertyName("table")] string Table,
    [property: JsonPropertyName("primary_key")] string PrimaryKey,
    [property: JsonPropertyName("sql")] string Sql,
    [property: JsonPropertyName("parameters")] IReadOnlyList<JsonNode?> Parameters);
