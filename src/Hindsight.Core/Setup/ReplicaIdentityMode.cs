namespace Hindsight.Setup;

/// <summary>Whether <c>setup</c> sets REPLICA IDENTITY FULL on the tracked tables.</summary>
public enum ReplicaIdentityMode
{
    /// <summary>Set REPLICA IDENTITY FULL on every tracked table and partition: complete before-images.</summary>
    Full,

    /// <summary>
    /// Leave replica identities as they are (only tables that would otherwise reject UPDATE and DELETE
    /// once published — no primary key, or identity NOTHING — are set to FULL). Before-images are incomplete.
    /// </summary>
    Default,
}
