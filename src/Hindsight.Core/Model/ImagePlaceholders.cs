namespace Hindsight.Model;

/// <summary>
/// The values a stored image holds in place of a value the trail does not have: capture writes them, as-of marks them,
/// and revert never writes them back. Part of the stored shape: changing one would misread every image stored before.
/// </summary>
internal static class ImagePlaceholders
{
    /// <summary>The prefix of a redacted column's keyed digest (<c>redacted:</c> and 16 lowercase hex digits).</summary>
    public const string RedactedPrefix = "redacted:";

    /// <summary>The marker stored for an unchanged TOAST value that no earlier image could supply.</summary>
    public const string UnknownToast = "{\"hindsight\":\"unchanged-toast-value-unknown\"}";

    /// <summary>What as-of shows for a column added with a volatile default after the row's last change: PostgreSQL
    /// rewrote the table with a value per row and logged none of them.</summary>
    public const string UnknownAfterSchemaChange = "{\"hindsight\":\"value-unknown-after-schema-change\"}";
}
