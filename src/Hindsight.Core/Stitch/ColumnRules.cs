using Hindsight.Capture;

namespace Hindsight.Stitch;

/// <summary>What happens to one column's value on its way to the store.</summary>
internal enum ColumnAction : byte
{
    /// <summary>Stored as is.</summary>
    Keep,
    /// <summary>Left out of images and diffs entirely.</summary>
    Ignore,
    /// <summary>Replaced by a keyed digest: whether it changed stays visible, the value never is.</summary>
    Redact,
}

/// <summary>
/// The <c>--ignore-columns</c> and <c>--redact-columns</c> rules. A pattern is <c>column</c> (rejected: too broad,
/// use <c>*.column</c>), <c>table.column</c> (any schema) or <c>schema.table.column</c>; each part may use <c>*</c> as a
/// wildcard, or be double-quoted (<c>orders."Card, Number"</c>) to name exactly that, dots, commas and stars included.
/// Ignore wins over redact.
/// </summary>
internal sealed class ColumnRules
{
    private readonly (Part[] Parts, ColumnAction Action)[] _patterns;
    private readonly Dictionary<RelationInfo, ColumnAction[]> _cache = new(ReferenceEqualityComparer.Instance);

    /// <summary>Parses the patterns; throws <see cref="ArgumentException"/> with a clear message on bad ones.</summary>
    public ColumnRules(IEnumerable<string> ignore, IEnumerable<string> redact)
    {
        var list = new List<(Part[], ColumnAction)>();
        foreach (var p in ignore) list.Add((Parse(p, "--ignore-columns"), ColumnAction.Ignore));
        foreach (var p in redact) list.Add((Parse(p, "--redact-columns"), ColumnAction.Redact));
        _patterns = list.ToArray();
    }

    /// <summary>True when no rule is configured (the common case: nothing to look up).</summary>
    public bool IsEmpty => _patterns.Length == 0;

    /// <summary>The action for every column of <paramref name="relation"/>, computed once per relation description.</summary>
    public ColumnAction[] For(RelationInfo relation)
    {
        if (_cache.TryGetValue(relation, out var cached)) return cached;
        var actions = new ColumnAction[relation.Columns.Count];
        for (var i = 0; i < actions.Length; i++)
        {
            var action = ColumnAction.Keep;
            foreach (var (parts, a) in _patterns)
            {
                if (!Matches(parts, relation.Schema, relation.Table, relation.Columns[i].Name)) continue;
                if (a == ColumnAction.Ignore) { action = ColumnAction.Ignore; break; }
                action = a;
            }
            actions[i] = action;
        }
        _cache[relation] = actions;
        return actions;
    }

    /// <summary>One dot-separated part of a pattern: a glob, or (quoted) an exact name.</summary>
    private readonly record struct Part(string Text, bool Exact)
    {
        public bool Matches(string name) => Exact ? Text == name : Glob(Text, name);
    }

    private static Part[] Parse(string pattern, string option)
    {
        var parts = SplitParts(pattern.Trim());
        if (parts is null || parts.Count is < 2 or > 3 || parts.Any(p => !p.Exact && string.IsNullOrWhiteSpace(p.Text)))
            throw new ArgumentException(
                $"{option}: '{pattern}' is not a column pattern; use table.column, schema.table.column or *.column");
        return [.. parts];
    }

    /// <summary>The parts between the dots outside double quotes; null when a quote is not closed or stray.</summary>
    private static List<Part>? SplitParts(string pattern)
    {
        var parts = new List<Part>();
        var i = 0;
        while (true)
        {
            if (i < pattern.Length && pattern[i] == '"')
            {
                var name = new System.Text.StringBuilder();
                for (i++; ; i++)
                {
                    if (i >= pattern.Length) return null;
                    if (pattern[i] != '"') { name.Append(pattern[i]); continue; }
                    if (i + 1 < pattern.Length && pattern[i + 1] == '"') { name.Append('"'); i++; continue; }
                    i++;
                    break;
                }
                if (name.Length == 0) return null;
                parts.Add(new Part(name.ToString(), Exact: true));
            }
            else
            {
                var start = i;
                while (i < pattern.Length && pattern[i] != '.')
                    if (pattern[i++] == '"') return null;
                parts.Add(new Part(pattern[start..i], Exact: false));
            }
            if (i == pattern.Length) return parts;
            if (pattern[i] != '.') return null;
            i++;
        }
    }

    private static bool Matches(Part[] parts, string schema, string table, string column) =>
        parts.Length == 2
            ? parts[0].Matches(table) && parts[1].Matches(column)
            : parts[0].Matches(schema) && parts[1].Matches(table) && parts[2].Matches(column);

    /// <summary>Matches <paramref name="text"/> against a pattern where <c>*</c> stands for any run of characters.</summary>
    internal static bool Glob(ReadOnlySpan<char> pattern, ReadOnlySpan<char> text)
    {
        var star = pattern.IndexOf('*');
        if (star < 0) return pattern.SequenceEqual(text);
        if (!text.StartsWith(pattern[..star])) return false;
        var rest = pattern[(star + 1)..];
        for (var i = star; i <= text.Length; i++)
            if (Glob(rest, text[i..])) return true;
        return false;
    }
}
