using System.Text;

namespace Hindsight.Capture.Baseline;

/// <summary>
/// Splits one line of <c>COPY … TO STDOUT</c> (text format) into column values. COPY's text format writes each value
/// with its type's output function — the very text pgoutput sends — so a baseline row renders through the same code,
/// and to the same JSON, as a captured one. (A <c>::text</c> cast would not do: <c>true::text</c> is <c>true</c>, not
/// <c>t</c>, and <c>inet::text</c> keeps a <c>/32</c> the output function drops.)
/// </summary>
internal static class CopyTextDecoder
{
    /// <summary>Decodes <paramref name="line"/> (without its newline) into exactly <paramref name="columns"/> values.</summary>
    /// <exception cref="FormatException">The line does not hold that many fields.</exception>
    public static ColumnValue[] Decode(string line, int columns)
    {
        var values = new ColumnValue[columns];
        if (columns == 0) return values; // a table whose columns are all dropped or unpublished: an empty line
        var field = 0;
        var start = 0;
        for (var i = 0; i <= line.Length; i++)
        {
            if (i < line.Length && line[i] != '\t') continue;
            if (field >= columns) throw new FormatException($"a COPY row has more than the {columns} fields expected");
            values[field++] = Field(line.AsSpan(start, i - start));
            start = i + 1;
        }
        if (field != columns) throw new FormatException($"a COPY row has {field} fields, {columns} expected");
        return values;
    }

    private static ColumnValue Field(ReadOnlySpan<char> raw)
    {
        if (raw is @"\N") return ColumnValue.Null;
        if (raw.IndexOf('\\') < 0) return new ColumnValue(ColumnValueKind.Text, raw.ToString());
        var sb = new StringBuilder(raw.Length);
        for (var i = 0; i < raw.Length; i++)
        {
            var c = raw[i];
            if (c != '\\' || i + 1 == raw.Length) { sb.Append(c); continue; }
            var e = raw[++i];
            // COPY TO writes only these escapes (and \\); any other escaped character stands for itself.
            sb.Append(e switch
            {
                'b' => '\b',
                'f' => '\f',
                'n' => '\n',
                'r' => '\r',
                't' => '\t',
                'v' => '\v',
                _ => e,
            });
        }
        return new ColumnValue(ColumnValueKind.Text, sb.ToString());
    }
}
