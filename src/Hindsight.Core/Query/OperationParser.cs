using Hindsight.Model;

namespace Hindsight.Query;

/// <summary>Reads operation names as users type them.</summary>
public static class OperationParser
{
    /// <summary>
    /// Parses CREATE, UPDATE, DELETE, TRUNCATE or SNAPSHOT, in any letter case; INSERT is accepted for CREATE.
    /// </summary>
    /// <exception cref="ArgumentException">Any other text.</exception>
    public static Operation Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return text.Trim().ToUpperInvariant() switch
        {
            "CREATE" or "INSERT" => Operation.Create,
            "UPDATE" => Operation.Update,
            "DELETE" => Operation.Delete,
            "TRUNCATE" => Operation.Truncate,
            "SNAPSHOT" => Operation.Snapshot,
            _ => throw new ArgumentException(
                $"unknown operation '{text}' (use CREATE, UPDATE, DELETE, TRUNCATE or SNAPSHOT)", "operation"),
        };
    }

    /// <summary>The operation of a stored name.</summary>
    internal static Operation FromStored(string stored) => stored switch
    {
        "CREATE" => Operation.Create,
        "UPDATE" => Operation.Update,
        "DELETE" => Operation.Delete,
        "TRUNCATE" => Operation.Truncate,
        "SNAPSHOT" => Operation.Snapshot,
        _ => throw new InvalidOperationException($"unknown stored operation '{stored}'"),
    };
}
