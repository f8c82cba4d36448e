using Hindsight.Model;

namespace Hindsight.Revert;

/// <summary>
/// A row the selection touched that was changed afterwards by something outside the selection: reverting would overwrite
/// that later work, so apply refuses unless forced.
/// </summary>
/// <param name="Table">The row's table.</param>
/// <param name="PrimaryKey">The row's key as stored.</param>
/// <param name="Reason">What changed it later (a stored change, or the source row differing from the trail).</param>
/// <param name="LaterChangeId">The later stored change, when the store holds it.</param>
public sealed record RevertConflict(TableName Table, string PrimaryKey, string Reason, long? LaterChangeId)
{
    /// <summary>
    /// The later change is a revert of the selected change: it is already undone. Such a conflict cannot be forced:
    /// reverting the change again would write its old values back over the revert (to undo the revert, revert the later
    /// change).
    /// </summary>
    public bool AlreadyReverted { get; init; }
}
