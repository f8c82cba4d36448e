using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Hindsight.Setup;

/// <summary>Quoting of SQL identifiers and parsing of the names users type on the command line.</summary>
internal static partial class PgNames
{
    /// <summary>Quotes an identifier (always, so reserved words, capitals, spaces and unicode are safe).</summary>
    public static string Quote(string identifier)
    {
        ArgumentNullException.ThrowIfNull(identifier);
        if (identifier.Contains('\0')) throw new SetupException("an identifier cannot contain a NUL character");
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

    /// <summary>Slot names: what PostgreSQL accepts (lower-case letters, digits, underscore; at most 63).</summary>
    public static void ValidateSlotName(string slot)
    {
        if (string.IsNullOrEmpty(slot) || slot.Length > 63 || !slot.All(c => c is >= 'a' and <= 'z' or >= '0' and <= '9' or '_'))
            throw new SetupException(
                $"invalid slot name {Quote(slot ?? "")}: use lower-case letters, digits and underscores (at most 63 characters)");
    }

    /// <summary>Publication names: any identifier of at most 63 bytes.</summary>
    public static void ValidatePublicationName(string publication)
    {
        if (string.IsNullOrEmpty(publication) || Encoding.UTF8.GetByteCount(publication) > 63 || publication.Contains('\0'))
            throw new SetupException("invalid publication name: it must have 1 to 63 bytes");
    }

    /// <summary>
    /// Splits a list of names given on the command line (<c>a, s.b, "My Table", "x"."y,z"</c>) at the
    /// commas that are outside double quotes.
    /// </summary>
    public static IEnumerable<string> SplitList(IEnumerable<string> values) => Query.NameList.Split(values);

    /// <summary>
    /// Parses <c>name</c>, <c>schema.name</c>, <c>"Quoted Name"</c> or <c>"s"."n"</c>. Unquoted parts are also
    /// offered folded to lower case, as PostgreSQL folds them.
    /// </summary>
    public static NamePattern ParseName(string text, int maxParts)
    {
        var parts = new List<NamePart>();
        var i = 0;
        text = text.Trim();
        if (text.Length == 0) throw new SetupException("an empty name was given");
        while (true)
        {
            while (i < text.Length && char.IsWhiteSpace(text[i])) i++;
            if (i < text.Length && text[i] == '"')
            {
                var sb = new StringBuilder();
                i++;
                var closed = false;
                while (i < text.Length)
                {
                    if (text[i] == '"')
                    {
                        if (i + 1 < text.Length && text[i + 1] == '"') { sb.Append('"'); i += 2; continue; }
                        closed = true; i++; break;
                    }
                    sb.Append(text[i++]);
                }
                if (!closed) throw new SetupException($"unterminated quoted name in {text}");
                if (sb.Length == 0) throw new SetupException($"empty quoted name in {text}");
                parts.Add(new NamePart(sb.ToString(), Quoted: true));
                while (i < text.Length && char.IsWhiteSpace(text[i])) i++;
            }
            else
            {
                var start = i;
                while (i < text.Length && text[i] != '.' && text[i] != '"') i++;
                var raw = text[start..i].Trim();
                if (raw.Length == 0) throw new SetupException($"invalid name {text}: an empty part");
                if (i < text.Length && text[i] == '"') throw new SetupException($"invalid name {text}: a quote inside an unquoted part");
                parts.Add(new NamePart(raw, Quoted: false));
            }
            if (i >= text.Length) break;
            if (text[i] != '.') throw new SetupException($"invalid name {text}: expected '.' after a quoted part");
            i++;
        }
        if (parts.Count > maxParts)
            throw new SetupException(maxParts == 1
                ? $"invalid schema name {text}: expected a single name"
                : $"invalid table name {text}: expected table or schema.table");
        return new NamePattern(text, parts);
    }

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

/// <summary>One dot-separated part of a name.</summary>
internal sealed record NamePart(string Text, bool Quoted)
{
    /// <summary>The spellings to try: folded first (PostgreSQL's rule), then as typed.</summary>
    public IEnumerable<string> Candidates()
    {
        if (Quoted) { yield return Text; yield break; }
        var folded = PgNames.Fold(Text);
        yield return folded;
        if (folded != Text) yield return Text;
    }
}

/// <summary>A parsed name: one part (name) or two (schema.name).</summary>
internal sealed record NamePattern(string Input, IReadOnlyList<NamePart> Parts)
{
    public NamePart? Schema => Parts.Count == 2 ? Parts[0] : null;
    public NamePart Name => Parts[^1];
}
