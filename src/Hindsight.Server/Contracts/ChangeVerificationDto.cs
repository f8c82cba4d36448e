using System.Text.Json.Serialization;
using Hindsight.Chain;

namespace Hindsight.Server.Contracts;

/// <summary>Where one stored change stands with the tamper-evident chain (<c>GET /api/changes/{id}/verification</c>).</summary>
/// <param name="ChangeId">The change's id.</param>
/// <param name="Source">Its source.</param>
/// <param name="State"><c>verified</c> (it matches the leaf hash its block recorded, and the block its hash), <c>altered</c>
/// (it or its block was changed after it was stored), <c>not_chained</c> (no block records it: stored before the chain
/// began, by a writer that does not chain, or inserted after the fact) or <c>derived</c> (a baseline or prune row, outside
/// the chain by design).</param>
/// <param name="Block">The number of the block that records it; null when none does.</param>
/// <param name="Checkpoint">The newest checkpoint recorded in the store that covers that block; null when none does yet.
/// Its signature is not checked here (a full verification does, against a key kept elsewhere).</param>
internal sealed record ChangeVerificationDto(
    [property: JsonPropertyName("change_id")] long ChangeId,
    [property: JsonPropertyName("source")] string Source,
    [property: JsonPropertyName("state")] string State,
    [property: JsonPropertyName("block")] long? Block,
    [property: JsonPropertyName("checkpoint")] CheckpointDto? Checkpoint)
{
    /// <summary>The wire form of a change's verification.</summary>
    public static ChangeVerificationDto From(ChangeVerification v) =>
        new(v.ChangeId, v.Source, StateName(v.State), v.Block, v.Checkpoint is { } c ? CheckpointDto.From(c) : null);

    /// <summary>A state as the API writes it: one lowercase word (snake_case).</summary>
    public static string StateName(ChangeVerificationState state) => state switch
    {
        ChangeVerificationState.Verified => "verified",
        ChangeVerificationState.Altered => "altered",
        ChangeVerificationState.NotChained => "not_chained",
        ChangeVerificationState.Derived => "derived",
        _ => throw new ArgumentOutOfRangeException(nameof(state), state, "an unknown verification state"),
    };
}
