using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Hindsight.Server.Contracts;

/// <summary>
/// What to revert (<c>POST /api/revert/plan</c>, <c>POST /api/revert</c>): exactly one of <see cref="Change"/>,
/// <see cref="Transaction"/>, <see cref="CommitLsn"/>, <see cref="Filter"/> or <see cref="Rollback"/>.
/// </summary>
internal sealed record RevertRequest
{
    /// <summary>Revert this one change (its id).</summary>
    [JsonPropertyName("change")] public long? Change { get; init; }
    /// <summary>Revert every change of this source transaction (xid).</summary>
    [JsonPropertyName("transaction")] public long? Transaction { get; init; }
    /// <summary>Revert every change of the transaction that committed at this LSN (e.g. <c>0/16B3748</c>).</summary>
    [JsonPropertyName("commit_lsn")] public string? CommitLsn { get; init; }
    /// <summary>Revert every change matching this filter.</summary>
    [JsonPropertyName("filter")] public RevertFilterRequest? Filter { get; init; }
    /// <summary>Roll tables back (or forward) to a moment instead.</summary>
    [JsonPropertyName("rollback")] public RollbackRequest? Rollback { get; init; }
    /// <summary>Context of the revert itself (e.g. why), a JSON object; <c>hindsight.revertOf</c> and <c>apiKey</c> are set by the server.</summary>
    [JsonPropertyName("context")] public JsonNode? Context { get; init; }
    /// <summary>Apply even when rows conflict (overwrites them). Ignored by the plan.</summary>
    [JsonPropertyName("force")] public bool Force { get; init; }
}
