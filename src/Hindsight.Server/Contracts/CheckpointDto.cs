using System.Text.Json.Serialization;
using Hindsight.Chain;

namespace Hindsight.Server.Contracts;

/// <summary>
/// A signed checkpoint of a source's chain, with the fields and names of a checkpoint file (the signed statement and its
/// signature), so that a client can rebuild the file and check it against a public key it keeps itself.
/// </summary>
/// <param name="Source">The source whose chain it covers (its name in the store).</param>
/// <param name="Blocks">The blocks it covers (the size of the tree).</param>
/// <param name="Changes">The changes in those blocks.</param>
/// <param name="Position">The commit LSN of the last change covered, as PostgreSQL writes it (<c>16/B374D848</c>).</param>
/// <param name="Root">The tree hash over the block hashes (hex).</param>
/// <param name="Head">The hash of the last block covered (hex).</param>
/// <param name="Time">When it was made (ISO 8601, UTC, microseconds).</param>
/// <param name="KeyId">The id of the key that signed it.</param>
/// <param name="Signature">The Ed25519 signature (base64) of the signed text.</param>
internal sealed record CheckpointDto(
    [property: JsonPropertyName("source")] string Source,
    [property: JsonPropertyName("blocks")] long Blocks,
    [property: JsonPropertyName("changes")] long Changes,
    [property: JsonPropertyName("position")] string Position,
    [property: JsonPropertyName("root")] string Root,
    [property: JsonPropertyName("head")] string Head,
    [property: JsonPropertyName("time")] string Time,
    [property: JsonPropertyName("key_id")] string KeyId,
    [property: JsonPropertyName("signature")] string Signature)
{
    /// <summary>The wire form of a signed checkpoint: its fields as the checkpoint file writes them.</summary>
    public static CheckpointDto From(SignedCheckpoint s)
    {
        var c = s.Checkpoint;
        return new CheckpointDto(c.Source, c.Blocks, c.Changes, Checkpoint.Lsn(c.Position), Convert.ToHexStringLower(c.Root),
            Convert.ToHexStringLower(c.Head), ApiTime.Format(c.MadeAt), s.KeyId, Convert.ToBase64String(s.Signature));
    }
}
