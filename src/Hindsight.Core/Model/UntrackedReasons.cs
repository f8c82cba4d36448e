namespace Hindsight.Model;

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
