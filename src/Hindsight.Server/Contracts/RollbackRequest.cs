using System.Text.Json.Serialization;

namespace Hindsight.Server.Contracts;

/// <summary>Tables to roll to a moment: every row the trail knows made as it was then.</summary>
internal sealed record RollbackRequest
{
    /// <summary>The tables.</summary>
    [JsonPropertyName("tables")] public IReadOnlyList<string>? Tables { get; init; }
    /// <summary>The moment (ISO 8601).</summary>
    [JsonPropertyName("to")] public string? To { get; init; }
}
