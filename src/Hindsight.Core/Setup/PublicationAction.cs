namespace Hindsight.Setup;

/// <summary>What happened to the publication.</summary>
public enum PublicationAction
{
    /// <summary>It did not exist and was created.</summary>
    Created,
    /// <summary>It existed and its tables, schemas or options were changed.</summary>
    Updated,
    /// <summary>It existed in a form ALTER cannot change (e.g. FOR ALL TABLES) and was dropped and created again, atomically.</summary>
    Recreated,
    /// <summary>It was already as wanted.</summary>
    Unchanged,
}
