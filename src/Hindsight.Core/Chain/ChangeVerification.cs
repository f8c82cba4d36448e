namespace Hindsight.Chain;

/// <summary>Where one stored change stands with the chain.</summary>
public enum ChangeVerificationState
{
    /// <summary>The change matches the leaf hash its block recorded, and the block hashes to what the chain says.</summary>
    Verified,
    /// <summary>The change does not match its recorded leaf, or its block does not hash to its recorded hash: it was altered.</summary>
    Altered,
    /// <summary>No block records the change: stored before the chain began, by a writer that does not chain, or inserted after the fact.</summary>
    NotChained,
    /// <summary>A baseline or prune row (SNAPSHOT), derived by Hindsight: outside the chain by design.</summary>
    Derived,
}

/// <summary>One change's verification: its state, its block, and the newest checkpoint that covers it.</summary>
/// <param name="ChangeId">The change's id.</param>
/// <param name="Source">Its source.</param>
/// <param name="State">Where it stands.</param>
/// <param name="Block">The block that records it, if any.</param>
/// <param name="Checkpoint">The newest checkpoint recorded in the store that covers that block, if any (its signature is
/// not checked here: <see cref="TrailVerifier.VerifyAsync"/> does that, against a key kept elsewhere).</param>
public sealed record ChangeVerification(long ChangeId, string Source, ChangeVerificationState State, long? Block, SignedCheckpoint? Checkpoint);
