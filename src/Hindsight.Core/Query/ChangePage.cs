namespace Hindsight.Query;

/// <summary>One page of changes.</summary>
/// <param name="Changes">The changes, in the requested order.</param>
/// <param name="NextCursor">Pass as <see cref="PageRequest.Cursor"/> (same filter and order) for the next page; null when this page is the last.</param>
public sealed record ChangePage(IReadOnlyList<Change> Changes, long? NextCursor);
