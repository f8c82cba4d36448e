namespace Hindsight.Revert;

/// <summary>What a rollback statement's row must still be when applying.</summary>
/// <param name="KeyImage">A JSON image holding the row's key columns (to find it).</param>
/// <param name="Row">The row as the plan saw it (<c>to_jsonb</c>), or null when it did not exist.</param>
internal sealed record RowExpectation(string KeyImage, string? Row);
