using System.Text.Json.Serialization;

namespace Hindsight.Server.Contracts;

/// <summary>The newest checkpoint of each source asked for, and the public keys the store records for their key ids
/// (<c>GET /api/checkpoints/latest</c>).</summary>
/// <param name="Checkpoints">One per source that has a checkpoint, by source name; empty when none has one yet.</param>
/// <param name="Keys">The public keys of the checkpoints' key ids, as the store records them.</param>
/// <param name="KeysNote">What those keys are worth: the store's own record, not an independent check.</param>
internal sealed record LatestCheckpointsDto(
    [property: JsonPropertyName("checkpoints")] IReadOnlyList<CheckpointDto> Checkpoints,
    [property: JsonPropertyName("keys")] IReadOnlyList<ChainKeyDto> Keys,
    [property: JsonPropertyName("keys_note")] string KeysNote)
{
    /// <summary>Said with every answer: the keys come from the store they would vouch for.</summary>
    public const string Note =
        "These public keys are the store's own record (hindsight.chain_keys): whoever can rewrite the store can replace a key " +
        "and re-sign its checkpoints. An independent check needs the public key kept elsewhere, and checkpoint files kept " +
        "apart from the store: hindsight verify --public-key <file> --checkpoint <files>.";
}

/// <summary>A signing key's public half, as the store records it.</summary>
/// <param name="KeyId">The key's id, as checkpoints name it.</param>
/// <param name="PublicKey">The Ed25519 public key (PEM); null when the store records no key of that id.</param>
internal sealed record ChainKeyDto(
    [property: JsonPropertyName("key_id")] string KeyId,
    [property: JsonPropertyName("public_key")] string? PublicKey);
