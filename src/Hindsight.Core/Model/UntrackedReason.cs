namespace Hindsight.Model;

/// <summary>Why a column's value in a stored image is not the row's data.</summary>
public enum UntrackedReason
{
    /// <summary>
    /// A generated column the source does not publish (stored generated columns before PostgreSQL 18, virtual ones
    /// always): the images have no value for it.
    /// </summary>
    Generated,

    /// <summary>
    /// A redacted column (<c>--redact-columns</c>): the image holds a keyed digest (<c>redacted:</c> and 16 lowercase
    /// hex digits) that shows whether the value changed, never the value.
    /// </summary>
    Redacted,
}

/// <summary>Names of <see cref="UntrackedReason"/> as the store, the CLI and the API spell them.</summary>
public static class UntrackedReasons
{
    /// <summary><c>generated</c> or <c>redacted</c>.</summary>
    public static string Name(UntrackedReason reason) => reason switch
    {
        UntrackedReason.Generated => "generated",
        UntrackedReason.Redacted => "redacted",
        _ => reason.ToString().ToLowerInvariant(),
    };

    /// <summary>Parses a name written by <see cref="Name"/>; null for a name this version does not know.</summary>
    public static UntrackedReason? Parse(string name) => name switch
    {
        "generated" => UntrackedReason.Generated,
        "redacted" => UntrackedReason.Redacted,
        _ => null,
    };
}
