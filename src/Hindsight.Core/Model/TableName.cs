namespace Hindsight.Model;

/// <summary>
/// A table named by a caller: <c>table</c> (any schema), <c>schema.table</c>, or with double-quoted parts
/// (<c>"my.schema"."Order Items"</c>, <c>""</c> inside quotes for a quote).
/// </summary>
/// <remarks>
/// Names are matched exactly as the store holds them, which is how PostgreSQL spells them in its catalog:
/// nothing is folded to lower case (a table created as <c>CREATE TABLE Orders</c> is stored as <c>orders</c>).
/// An unquoted name is split at its first dot. A name is only ever compared as a value, never put into SQL.
/// </remarks>
/// <param name="Schema">The schema, or null for a table of that name in any schema.</param>
/// <param name="Name">The table's name.</param>
public sealed record TableName(string? Schema, string Name)
{
    /// <summary>Parses a table name as typed by a user.</summary>
    /// <exception cref="ArgumentException">The text is empty or its double quotes are unbalanced.</exception>
    public static TableName Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parts = new List<string>();
        var current = new System.Text.StringBuilder();
        var quoted = false;
        var partWasQuoted = false;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (quoted)
            {
                if (c != '"') { current.Append(c); continue; }
                if (i + 1 < text.Length && text[i + 1] == '"') { current.Append('"'); i++; continue; }
                quoted = false;
                continue;
            }
            if (c == '"' && current.Length == 0 && !partWasQuoted) { quoted = true; partWasQuoted = true; continue; }
            if (c == '.' && parts.Count == 0)
            {
                parts.Add(current.ToString());
                current.Clear();
                partWasQuoted = false;
                continue;
            }
            if (partWasQuoted) throw Invalid(text, "text after a closing double quote");
            current.Append(c);
        }
        if (quoted) throw Invalid(text, "unbalanced double quote");
        parts.Add(current.ToString());
        if (parts.Any(p => p.Length == 0)) throw Invalid(text, "empty name");
        return parts.Count == 1 ? new TableName(null, parts[0]) : new TableName(parts[0], parts[1]);
    }

    private static ArgumentException Invalid(string text, string why) =>
        new($"invalid table name '{text}': {why} (use table, schema.table or \"Quoted Name\")", "table");

    /// <summary>The name as a user would type it (parts quoted only when needed).</summary>
    public override string ToString() => Schema is null ? Part(Name) : Part(Schema) + "." + Part(Name);

    private static string Part(string p) =>
        p.Contains('.') || p.Contains('"') ? "\"" + p.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : p;
}
