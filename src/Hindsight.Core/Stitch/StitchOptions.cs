namespace Hindsight.Stitch;

/// <summary>How the stitcher groups source transactions into sink commits, and how much context it keeps.</summary>
/// <param name="CommitInterval">The shortest time between two sink commits while transactions keep arriving.</param>
/// <param name="MaxChangesPerCommit">Changes after which the open sink transaction is committed between source
/// transactions, however busy the stream.</param>
/// <param name="ContextSizeLimit">The largest context payload kept, in bytes; a larger one is replaced by a note saying so.</param>
internal sealed record StitchOptions(TimeSpan CommitInterval, int MaxChangesPerCommit, int ContextSizeLimit);
