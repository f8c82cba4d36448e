using System.Text;
using Hindsight.Configuration;
using Hindsight.Postgres;

namespace Hindsight.Setup;

/// <summary>The names setup and teardown accept: slot and publication names, and the table and schema patterns users type.</summary>
internal static class SetupNames
{
    /// <summary>The slot's and the publication's names of <paramref name="options"/>, before anything is read or changed.</summary>
    /// <exception cref="SetupException">A name PostgreSQL would not accept.</exception>
    public static void ValidateNames(ConnectionOptions options)
    {
        ValidateSlotName(options.Slot);
        ValidatePublicationName(options.Publication);
    }

    /// <summary>Slot names: what PostgreSQL accepts (lower-case letters, digits, underscore; at most 63).</summary>
    private static void ValidateSlotName(string slot)
    {
        if (string.IsNullOrEmpty(slot) || slot.Length > 63 || !slot.All(c => c is >= 'a' and <= 'z' or >= '0' and <= '9' or '_'))
            throw new SetupException(
                $"invalid slot name {PgNames.Quote((slot ?? "").Replace("\0", "", StringComparison.Ordinal))}: use lower-case letters, digits and underscores (at most 63 characters)");
    }

    /// <summary>Publication names: any identifier of at most 63 bytes.</summary>
    private static void ValidatePublicationName(string publication)
    {
        if (string.IsNullOrEmpty(publication) || Encoding.UTF8.GetByteCount(publication) > 63 || publication.Contains('\0'))
            throw new SetupException("invalid publication name: it must have 1 to 63 bytes");
    }

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
}
