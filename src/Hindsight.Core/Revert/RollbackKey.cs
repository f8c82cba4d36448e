namespace Hindsight.Revert;

/// <summary>
/// What the trail knows of each row of one table, for a rollback: its newest state (to see whether the source moved on
/// without the store), and its first change (to tell a row that did not exist yet at the moment from one that existed
/// before tracking began and is unknown then).
/// </summary>
/// <param name="PrimaryKey">The key as stored.</param>
/// <param name="NewestPresent">Whether the row exists after the trail's newest change of it (not deleted, not truncated since).</param>
/// <param name="NewestImage">The newest image holding the row's key columns (the after image, or the before image of a DELETE).</param>
/// <param name="FirstAtOrBefore">Whether the row's first stored change is at or before the moment.</param>
/// <param name="FirstOperation">The operation of the row's first stored change.</param>
/// <param name="FirstBefore">The before image of the first change when it is after the moment (else null).</param>
/// <param name="FirstAfter">The after image of the first change when it is after the moment (else null).</param>
internal sealed record RollbackKey(string PrimaryKey, bool NewestPresent, string NewestImage, bool FirstAtOrBefore, string FirstOperation,
    string? FirstBefore, string? FirstAfter);
