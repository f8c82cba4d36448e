namespace Hindsight.Chain;

/// <summary>What <see cref="TrailVerifier.VerifyAsync"/> checks.</summary>
public sealed record VerificationOptions
{
    /// <summary>The source to verify; null: every source with a chain.</summary>
    public string? Source { get; init; }

    /// <summary>Read only the changes of blocks written at or after this time (the chain's links and hashes are always
    /// checked whole); null: every change.</summary>
    public DateTimeOffset? Since { get; init; }

    /// <summary>Checkpoints to check against the store, besides those it records itself (checkpoint files kept elsewhere).</summary>
    public IReadOnlyList<SignedCheckpoint> Checkpoints { get; init; } = [];

    /// <summary>The key every checkpoint must be signed by. Null: the store's own record of the keys that signed them,
    /// which says nothing against someone who rewrote the store; give the key kept elsewhere for that.</summary>
    public VerifyingKey? PublicKey { get; init; }

    /// <summary>Stop listing breaks after this many (the verification still runs to the end).</summary>
    public int MaxBreaks { get; init; } = 20;
}

/// <summary>The outcome of a verification: each source's figures, and every break found, in chain order.</summary>
/// <param name="Sources">One entry per source verified.</param>
/// <param name="Breaks">What is wrong, first break first; empty when the trail is intact.</param>
public sealed record VerificationReport(IReadOnlyList<SourceVerification> Sources, IReadOnlyList<ChainBreak> Breaks)
{
    /// <summary>True when nothing is wrong.</summary>
    public bool Intact => Breaks.Count == 0;
}

/// <summary>What was verified of one source.</summary>
/// <param name="Source">The source's name.</param>
/// <param name="Blocks">Blocks in its chain.</param>
/// <param name="ChainedChanges">Changes the chain records (its blocks' leaves).</param>
/// <param name="VerifiedChanges">Stored changes read and matched against their leaves.</param>
/// <param name="PrunedChanges">Chained changes absent because retention pruned them (their leaves still verify).</param>
/// <param name="ChangesBeforeChain">Changes stored before the chain began, not covered by it.</param>
/// <param name="UnchainedRows">Baseline and pruning rows (SNAPSHOT, negative ordinals): derived rows outside the chain.</param>
/// <param name="CheckpointsChecked">Checkpoints checked against the chain (signature and root).</param>
/// <param name="LatestCheckpoint">The newest checkpoint of the source that verified, if any.</param>
/// <param name="KeyChecked">How signatures were checked: against the key given, or the store's own record of it.</param>
/// <param name="Elapsed">How long the source took.</param>
public sealed record SourceVerification(
    string Source, long Blocks, long ChainedChanges, long VerifiedChanges, long PrunedChanges, long ChangesBeforeChain, long UnchainedRows,
    int CheckpointsChecked, SignedCheckpoint? LatestCheckpoint, string KeyChecked, TimeSpan Elapsed);

/// <summary>What a break is.</summary>
public enum ChainBreakKind
{
    /// <summary>A stored change no longer matches the leaf hash its block recorded: a value, its context or its place was altered.</summary>
    ValueChanged,
    /// <summary>A change the chain records is missing from the store, and no prune accounts for it.</summary>
    ChangeDeleted,
    /// <summary>A stored change the chain does not record.</summary>
    ChangeInserted,
    /// <summary>Two changes swapped places (commit LSN or ordinal): each matches the leaf recorded at the other's place.</summary>
    ChangesReordered,
    /// <summary>A block does not hash to what the chain says: its leaves, runs or links were altered, or a block is missing.</summary>
    BlockAltered,
    /// <summary>A checkpoint does not match the chain: the chain was rewritten since it was signed, or it names more than the chain holds.</summary>
    CheckpointMismatch,
    /// <summary>A checkpoint's signature fails, or it was signed by a key other than the one given.</summary>
    CheckpointSignature,
}

/// <summary>One thing wrong with the trail.</summary>
/// <param name="Source">The source whose chain it is in.</param>
/// <param name="Kind">What is wrong.</param>
/// <param name="Detail">One sentence a person can act on, naming the change or block.</param>
public sealed record ChainBreak(string Source, ChainBreakKind Kind, string Detail)
{
    /// <summary>The stored change's id, when one is concerned.</summary>
    public long? ChangeId { get; init; }
    /// <summary>The block concerned.</summary>
    public long? Block { get; init; }
    /// <summary>The change's place in its source: its commit LSN.</summary>
    public ulong? CommitLsn { get; init; }
    /// <summary>The change's place in its transaction.</summary>
    public int? Ordinal { get; init; }
    /// <summary>The table of the change concerned (schema.table).</summary>
    public string? Table { get; init; }
    /// <summary>The primary key of the change concerned.</summary>
    public string? PrimaryKey { get; init; }
}
