using System.Globalization;
using System.Text.RegularExpressions;

namespace Hindsight.Postgres;

/// <summary>Quoting and display of SQL identifiers, and LSNs as PostgreSQL prints them.</summary>
internal static partial class PgNames
{
    /// <summary>Quotes an identifier (always, so reserved words, capitals, spaces and unicode are safe).</summary>
    public static string Quote(string identifier)
    {
        ArgumentNullException.ThrowIfNull(identifier);
        if (identifier.Contains('\0')) throw new ArgumentException("an identifier cannot contain a NUL character", nameof(identifier));
        return "\"" + identifier.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
    }

    /// <summary><c>"schema"."name"</c>.</summary>
    public static string Quote(string schema, string name) => Quote(schema) + "." + Quote(name);

    /// <summary>A name for display: parts quoted only where PostgreSQL needs it.</summary>
    public static string Display(string schema, string name) => DisplayPart(schema) + "." + DisplayPart(name);

    /// <summary>One identifier for display, quoted only where needed.</summary>
    public static string DisplayPart(string part) =>
        PlainIdentifier().IsMatch(part) && !Reserved.Contains(part) ? part : Quote(part);

    [GeneratedRegex("^[a-z_][a-z0-9_$]*$")]
    private static partial Regex PlainIdentifier();

    // Enough of PostgreSQL's reserved words that display is unambiguous; quoting more is harmless.
    private static readonly HashSet<string> Reserved = new(StringComparer.Ordinal)
    {
        "all", "analyse", "analyze", "and", "any", "array", "as", "asc", "asymmetric", "both", "case", "cast",
        "check", "collate", "column", "constraint", "create", "current_catalog", "current_date", "current_role",
        "current_time", "current_timestamp", "current_user", "default", "deferrable", "desc", "distinct", "do",
        "else", "end", "except", "false", "fetch", "for", "foreign", "from", "grant", "group", "having", "in",
        "initially", "intersect", "into", "lateral", "leading", "limit", "localtime", "localtimestamp", "not",
        "null", "offset", "on", "only", "or", "order", "placing", "primary", "references", "returning", "select",
        "session_user", "some", "symmetric", "table", "then", "to", "trailing", "true", "union", "unique", "user",
        "using", "variadic", "when", "where", "window", "with",
    };

    /// <summary>ASCII lower-casing, as PostgreSQL folds unquoted identifiers.</summary>
    public static string Fold(string s)
    {
        var chars = s.ToCharArray();
        for (var i = 0; i < chars.Length; i++)
            if (chars[i] is >= 'A' and <= 'Z') chars[i] = (char)(chars[i] + 32);
        return new string(chars);
    }

    /// <summary>An LSN as PostgreSQL prints it (<c>0/16B3748</c>).</summary>
    public static string FormatLsn(ulong lsn) =>
        string.Create(CultureInfo.InvariantCulture, $"{lsn >> 32:X}/{lsn & 0xFFFFFFFF:X}");
}
