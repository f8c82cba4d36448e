using System.Buffers;
using System.Text.Json;

namespace Hindsight.Capture.Rendering;

/// <summary>
/// Renders a column value from its PostgreSQL text output (as pgoutput sends it, under the
/// settings of <see cref="SourceSession"/>) into JSON exactly as PostgreSQL 15's <c>to_jsonb()</c>
/// renders the same value (equal as <c>jsonb</c>).
/// </summary>
/// <remarks>
/// <para>The rules follow <c>jsonb_categorize_type</c>/<c>datum_to_jsonb</c> (jsonb.c) and
/// <c>JsonEncodeDateTime</c> (json.c): numbers stay numbers unless <c>NaN</c>/<c>Infinity</c>;
/// <c>bool</c> becomes <c>true</c>/<c>false</c>; <c>timestamp</c>/<c>timestamptz</c> take the XSD form
/// (<c>T</c> separator, offset <c>±HH:MM</c>); <c>json</c>/<c>jsonb</c> are embedded; arrays become
/// nested JSON arrays (dimension bounds dropped); composites become objects; <c>hstore</c> becomes an
/// object as its json cast makes it; everything else is the text output as a JSON string (including
/// other user types with a cast to json, which <c>to_jsonb()</c> would call: see <see cref="JsonCategory.JsonCast"/>).</para>
/// <para>This is the hot path (every column of every captured row): it parses spans in place,
/// copies only elements that carry escapes (into stack or pooled buffers) and allocates nothing
/// else. A NULL column is the caller's to write; NULLs inside arrays and records are written here.</para>
/// </remarks>
internal static class PgValueRenderer
{
    private const int StackBufferChars = 256;

    /// <summary>Writes the JSON for one non-NULL value of <paramref name="type"/> whose text output is <paramref name="text"/>.</summary>
    /// <param name="writer">The writer, positioned where a value goes (e.g. after a property name).</param>
    /// <param name="type">The value's type.</param>
    /// <param name="text">The value's text output.</param>
    /// <exception cref="PgValueFormatException">The text does not fit the type (malformed, or a stale composite type).</exception>
    public static void WriteValue(Utf8JsonWriter writer, PgTypeInfo type, string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        WriteValue(writer, type, text.AsSpan());
    }

    /// <summary>Writes the JSON for one non-NULL value of <paramref name="type"/> whose text output is <paramref name="text"/>.</summary>
    /// <param name="writer">The writer, positioned where a value goes (e.g. after a property name).</param>
    /// <param name="type">The value's type.</param>
    /// <param name="text">The value's text output.</param>
    /// <exception cref="PgValueFormatException">The text does not fit the type (malformed, or a stale composite type).</exception>
    public static void WriteValue(Utf8JsonWriter writer, PgTypeInfo type, ReadOnlySpan<char> text)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(type);
        Write(writer, type, text);
    }

    private static void Write(Utf8JsonWriter w, PgTypeInfo type, ReadOnlySpan<char> text)
    {
        switch (type.Category)
        {
            case JsonCategory.Number:
                // datum_to_jsonb: a JSON number unless the output is NaN/Infinity/-Infinity.
                if (IsJsonNumber(text)) w.WriteRawValue(text, skipInputValidation: true);
                else w.WriteStringValue(text);
                break;
            case JsonCategory.Boolean:
                WriteBoolean(w, type, text);
                break;
            case JsonCategory.Timestamp:
                WriteTimestamp(w, text, withZone: false);
                break;
            case JsonCategory.TimestampTz:
                WriteTimestamp(w, text, withZone: true);
                break;
            case JsonCategory.Json:
            case JsonCategory.Jsonb:
                // Already validated by PostgreSQL's JSON parser (json_in/jsonb_out).
                w.WriteRawValue(text, skipInputValidation: true);
                break;
            case JsonCategory.Array:
                if (type.IsVector) WriteVector(w, type, text);
                else WriteArray(w, type, text);
                break;
            case JsonCategory.Composite:
                WriteRecord(w, type, text);
                break;
            case JsonCategory.Hstore:
                WriteHstore(w, type, text);
                break;
            default:
                // Date: DateStyle ISO output is already the XSD date form (incl. " BC", infinity).
                w.WriteStringValue(text);
                break;
        }
    }

    /// <summary>True when <paramref name="s"/> is a number by the JSON grammar (so not NaN, Infinity, or a form like ".5").</summary>
    internal static bool IsJsonNumber(ReadOnlySpan<char> s)
    {
        int i = 0, n = s.Length;
        if (n == 0) return false;
        if (s[0] == '-') i++;
        if (i >= n) return false;
        if (s[i] == '0') i++;
        else if (s[i] is >= '1' and <= '9')
        {
            i++;
            while (i < n && char.IsAsciiDigit(s[i])) i++;
        }
        else return false;

        if (i < n && s[i] == '.')
        {
            i++;
            if (i >= n || !char.IsAsciiDigit(s[i])) return false;
            while (i < n && char.IsAsciiDigit(s[i])) i++;
        }
        if (i < n && (s[i] == 'e' || s[i] == 'E'))
        {
            i++;
            if (i < n && (s[i] == '+' || s[i] == '-')) i++;
            if (i >= n || !char.IsAsciiDigit(s[i])) return false;
            while (i < n && char.IsAsciiDigit(s[i])) i++;
        }
        return i == n;
    }

    private static void WriteBoolean(Utf8JsonWriter w, PgTypeInfo type, ReadOnlySpan<char> text)
    {
        if (text.Length == 1)
        {
            if (text[0] == 't') { w.WriteBooleanValue(true); return; }
            if (text[0] == 'f') { w.WriteBooleanValue(false); return; }
        }
        else if (text.SequenceEqual("true")) { w.WriteBooleanValue(true); return; }
        else if (text.SequenceEqual("false")) { w.WriteBooleanValue(false); return; }
        throw Malformed(type, text, "not a boolean");
    }

    /// <summary>
    /// ISO output (<c>2020-01-02 03:04:05.6+00 BC</c>) to XSD (<c>2020-01-02T03:04:05.6+00:00 BC</c>):
    /// the first space becomes <c>T</c>, and an offset of whole hours gets <c>:00</c> (EncodeTimezone
    /// with USE_XSD_DATES always prints minutes; offsets with seconds are printed alike in both styles).
    /// <c>infinity</c>/<c>-infinity</c> have no space and pass through.
    /// </summary>
    private static void WriteTimestamp(Utf8JsonWriter w, ReadOnlySpan<char> text, bool withZone)
    {
        int space = text.IndexOf(' ');
        if (space < 0 || text.Length > 120)
        {
            w.WriteStringValue(text);
            return;
        }
        Span<char> buf = stackalloc char[128];
        text.CopyTo(buf);
        buf[space] = 'T';
        int len = text.Length;
        if (withZone)
        {
            int i = space + 1;
            while (i < len && (char.IsAsciiDigit(text[i]) || text[i] == ':' || text[i] == '.')) i++;
            if (i < len && (text[i] == '+' || text[i] == '-'))
            {
                int end = text[i..].IndexOf(' ');
                end = end < 0 ? len : i + end;
                if (end - i == 3)
                {
                    text[end..].CopyTo(buf[(end + 3)..]);
                    buf[end] = ':';
                    buf[end + 1] = '0';
                    buf[end + 2] = '0';
                    len += 3;
                }
            }
        }
        w.WriteStringValue(buf[..len]);
    }

    // ---- arrays (array_out) ----

    private static void WriteArray(Utf8JsonWriter w, PgTypeInfo type, ReadOnlySpan<char> s)
    {
        var element = type.Element ?? throw new PgValueFormatException(type, "array type without an element type");
        int pos = SkipSpace(s, 0);
        if (pos < s.Length && s[pos] == '[')
        {
            // Dimension decoration "[0:1][1:2]=" (lower bounds other than 1): to_jsonb ignores it.
            int eq = s[pos..].IndexOf('=');
            if (eq < 0) throw Malformed(type, s, "dimension decoration without '='");
            pos = SkipSpace(s, pos + eq + 1);
        }
        if (pos >= s.Length || s[pos] != '{') throw Malformed(type, s, "expected '{'");
        WriteArrayLevel(w, type, element, s, ref pos);
        if (SkipSpace(s, pos) != s.Length) throw Malformed(type, s, "characters after the closing '}'");
    }

    private static void WriteArrayLevel(Utf8JsonWriter w, PgTypeInfo type, PgTypeInfo element, ReadOnlySpan<char> s, ref int pos)
    {
        pos++; // '{'
        w.WriteStartArray();
        pos = SkipSpace(s, pos);
        if (pos < s.Length && s[pos] == '}')
        {
            pos++;
            w.WriteEndArray();
            return;
        }
        char delim = type.Delimiter;
        while (true)
        {
            pos = SkipSpace(s, pos);
            if (pos >= s.Length) throw Malformed(type, s, "unterminated array");
            char c = s[pos];
            if (c == '{') WriteArrayLevel(w, type, element, s, ref pos);
            else if (c == '"') WriteQuotedElement(w, type, element, s, ref pos);
            else WriteUnquotedElement(w, type, element, s, ref pos, delim);

            pos = SkipSpace(s, pos);
            if (pos >= s.Length) throw Malformed(type, s, "unterminated array");
            c = s[pos++];
            if (c == '}') break;
            if (c != delim) throw Malformed(type, s, $"unexpected '{c}' after an element");
        }
        w.WriteEndArray();
    }

    /// <summary>
    /// Reads a double-quoted array element or hstore token starting at the opening quote: returns its
    /// raw content (escapes still in) and leaves <paramref name="pos"/> after the closing quote.
    /// </summary>
    private static ReadOnlySpan<char> ScanQuoted(PgTypeInfo type, ReadOnlySpan<char> s, ref int pos, out bool escaped)
    {
        escaped = false;
        int start = ++pos;
        while (true)
        {
            if (pos >= s.Length) throw Malformed(type, s, "unterminated quoted value");
            char c = s[pos];
            if (c == '"') break;
            if (c == '\\')
            {
                escaped = true;
                pos += 2;
            }
            else pos++;
        }
        var raw = s[start..pos];
        pos++; // closing quote
        return raw;
    }

    // An unquoted array element or hstore token: up to one of two stop characters (or white space), stepping over
    // backslash escapes, which the caller then undoes. pos may end one past the end after a trailing backslash.
    private static void ScanUnquoted(ReadOnlySpan<char> s, ref int pos, char stop1, char stop2, bool stopAtSpace, out bool escaped)
    {
        escaped = false;
        while (pos < s.Length)
        {
            char c = s[pos];
            if (c == '\\')
            {
                escaped = true;
                pos += 2;
                continue;
            }
            if (c == stop1 || c == stop2 || (stopAtSpace && IsArraySpace(c))) break;
            pos++;
        }
    }

    private static void WriteQuotedElement(Utf8JsonWriter w, PgTypeInfo type, PgTypeInfo element, ReadOnlySpan<char> s, ref int pos)
    {
        var raw = ScanQuoted(type, s, ref pos, out var escaped);
        // A quoted "NULL" is the string NULL, never SQL NULL.
        if (escaped) WriteBackslashUnescaped(w, element, raw);
        else Write(w, element, raw);
    }

    private static void WriteUnquotedElement(Utf8JsonWriter w, PgTypeInfo type, PgTypeInfo element, ReadOnlySpan<char> s, ref int pos, char delim)
    {
        int start = pos;
        ScanUnquoted(s, ref pos, delim, '}', stopAtSpace: false, out var escaped);
        if (pos >= s.Length) throw Malformed(type, s, "unterminated array");
        var raw = s[start..pos];
        if (escaped)
        {
            WriteBackslashUnescaped(w, element, raw);
            return;
        }
        int end = raw.Length;
        while (end > 0 && IsArraySpace(raw[end - 1])) end--;
        raw = raw[..end];
        if (raw.Length == 0) throw Malformed(type, s, "empty unquoted element");
        if (raw.Length == 4 && raw.Equals("NULL", StringComparison.OrdinalIgnoreCase)) w.WriteNullValue();
        else Write(w, element, raw);
    }

    /// <summary>Copies <paramref name="raw"/> into <paramref name="buf"/> with backslash escapes removed; returns the length.</summary>
    private static int CopyUnescaped(ReadOnlySpan<char> raw, Span<char> buf)
    {
        int n = 0;
        for (int i = 0; i < raw.Length; i++)
        {
            char c = raw[i];
            if (c == '\\' && i + 1 < raw.Length) c = raw[++i];
            buf[n++] = c;
        }
        return n;
    }

    private static void WriteBackslashUnescaped(Utf8JsonWriter w, PgTypeInfo element, ReadOnlySpan<char> raw)
    {
        char[]? rented = null;
        Span<char> buf = raw.Length <= StackBufferChars
            ? stackalloc char[StackBufferChars]
            : (rented = ArrayPool<char>.Shared.Rent(raw.Length));
        try
        {
            int n = CopyUnescaped(raw, buf);
            Write(w, element, buf[..n]);
        }
        finally
        {
            if (rented is not null) ArrayPool<char>.Shared.Return(rented);
        }
    }

    /// <summary><c>int2vector</c>/<c>oidvector</c>: space-separated elements, no braces.</summary>
    private static void WriteVector(Utf8JsonWriter w, PgTypeInfo type, ReadOnlySpan<char> s)
    {
        var element = type.Element ?? throw new PgValueFormatException(type, "vector type without an element type");
        w.WriteStartArray();
        int pos = 0;
        while (true)
        {
            pos = SkipSpace(s, pos);
            if (pos >= s.Length) break;
            int start = pos;
            while (pos < s.Length && !IsArraySpace(s[pos])) pos++;
            Write(w, element, s[start..pos]);
        }
        w.WriteEndArray();
    }

    // ---- records (record_out) ----

    private static void WriteRecord(Utf8JsonWriter w, PgTypeInfo type, ReadOnlySpan<char> s)
    {
        var attributes = type.AttributeArray;
        int pos = SkipSpace(s, 0);
        if (pos >= s.Length || s[pos] != '(') throw Malformed(type, s, "expected '('");
        pos++;
        w.WriteStartObject();
        for (int i = 0; i < attributes.Length; i++)
        {
            if (i > 0)
            {
                if (pos >= s.Length || s[pos] != ',')
                    throw Malformed(type, s, $"fewer fields than the type's {attributes.Length} attributes (was the type altered?)");
                pos++;
            }
            int start = pos, quotes = 0;
            bool inQuote = false, escaped = false;
            while (true)
            {
                if (pos >= s.Length) throw Malformed(type, s, "unterminated record");
                char c = s[pos];
                if (inQuote)
                {
                    if (c == '\\')
                    {
                        escaped = true;
                        pos += 2;
                        continue;
                    }
                    if (c == '"')
                    {
                        if (pos + 1 < s.Length && s[pos + 1] == '"')
                        {
                            escaped = true;
                            pos += 2;
                            continue;
                        }
                        inQuote = false;
                    }
                    pos++;
                }
                else
                {
                    if (c == ',' || c == ')') break;
                    if (c == '"')
                    {
                        inQuote = true;
                        quotes++;
                    }
                    else if (c == '\\')
                    {
                        escaped = true;
                        pos += 2;
                        continue;
                    }
                    pos++;
                }
            }
            var raw = s[start..pos];
            var attribute = attributes[i];
            w.WritePropertyName(attribute.EncodedName);
            if (raw.Length == 0) w.WriteNullValue(); // nothing at all, not even "": NULL
            else if (!escaped && quotes == 0) Write(w, attribute.Type, raw);
            else if (!escaped && quotes == 1 && raw.Length >= 2 && raw[0] == '"' && raw[^1] == '"') Write(w, attribute.Type, raw[1..^1]);
            else WriteRecordFieldUnescaped(w, attribute.Type, raw);
        }
        if (pos >= s.Length || s[pos] != ')')
            throw Malformed(type, s, $"more fields than the type's {attributes.Length} attributes (was the type altered?)");
        pos++;
        if (SkipSpace(s, pos) != s.Length) throw Malformed(type, s, "characters after the closing ')'");
        w.WriteEndObject();
    }

    private static void WriteRecordFieldUnescaped(Utf8JsonWriter w, PgTypeInfo fieldType, ReadOnlySpan<char> raw)
    {
        char[]? rented = null;
        Span<char> buf = raw.Length <= StackBufferChars
            ? stackalloc char[StackBufferChars]
            : (rented = ArrayPool<char>.Shared.Rent(raw.Length));
        try
        {
            int n = 0;
            bool inQuote = false;
            for (int i = 0; i < raw.Length; i++)
            {
                char c = raw[i];
                if (c == '\\' && i + 1 < raw.Length)
                {
                    buf[n++] = raw[++i];
                }
                else if (c == '"')
                {
                    if (inQuote && i + 1 < raw.Length && raw[i + 1] == '"')
                    {
                        buf[n++] = '"';
                        i++;
                    }
                    else inQuote = !inQuote;
                }
                else buf[n++] = c;
            }
            Write(w, fieldType, buf[..n]);
        }
        finally
        {
            if (rented is not null) ArrayPool<char>.Shared.Return(rented);
        }
    }

    // ---- hstore (hstore_out, rendered as hstore_to_json does) ----

    private static void WriteHstore(Utf8JsonWriter w, PgTypeInfo type, ReadOnlySpan<char> s)
    {
        // "key"=>"value", "other"=>NULL   (hstore_out always quotes keys and values; escapes are \" and \\)
        w.WriteStartObject();
        int pos = SkipSpace(s, 0);
        while (pos < s.Length)
        {
            var key = ReadHstoreToken(type, s, ref pos, out bool keyEscaped, out bool keyQuoted);
            if (!keyQuoted && key.Equals("NULL", StringComparison.OrdinalIgnoreCase))
                throw Malformed(type, s, "NULL key");
            WriteHstoreString(w, key, keyEscaped, asPropertyName: true);
            pos = SkipSpace(s, pos);
            if (pos + 1 >= s.Length || s[pos] != '=' || s[pos + 1] != '>') throw Malformed(type, s, "expected '=>'");
            pos = SkipSpace(s, pos + 2);
            var value = ReadHstoreToken(type, s, ref pos, out bool valueEscaped, out bool valueQuoted);
            if (!valueQuoted && value.Equals("NULL", StringComparison.OrdinalIgnoreCase)) w.WriteNullValue();
            else WriteHstoreString(w, value, valueEscaped, asPropertyName: false);
            pos = SkipSpace(s, pos);
            if (pos >= s.Length) break;
            if (s[pos] != ',') throw Malformed(type, s, "expected ','");
            pos = SkipSpace(s, pos + 1);
        }
        w.WriteEndObject();
    }

    private static ReadOnlySpan<char> ReadHstoreToken(PgTypeInfo type, ReadOnlySpan<char> s, ref int pos, out bool escaped, out bool quoted)
    {
        escaped = false;
        quoted = pos < s.Length && s[pos] == '"';
        if (quoted) return ScanQuoted(type, s, ref pos, out escaped);
        int begin = pos;
        ScanUnquoted(s, ref pos, ',', '=', stopAtSpace: true, out escaped);
        if (pos > s.Length || pos == begin) throw Malformed(type, s, "expected a key or value");
        return s[begin..pos];
    }

    private static void WriteHstoreString(Utf8JsonWriter w, ReadOnlySpan<char> raw, bool escaped, bool asPropertyName)
    {
        if (!escaped)
        {
            if (asPropertyName) w.WritePropertyName(raw);
            else w.WriteStringValue(raw);
            return;
        }
        char[]? rented = null;
        Span<char> buf = raw.Length <= StackBufferChars
            ? stackalloc char[StackBufferChars]
            : (rented = ArrayPool<char>.Shared.Rent(raw.Length));
        try
        {
            int n = CopyUnescaped(raw, buf);
            if (asPropertyName) w.WritePropertyName(buf[..n]);
            else w.WriteStringValue(buf[..n]);
        }
        finally
        {
            if (rented is not null) ArrayPool<char>.Shared.Return(rented);
        }
    }

    // ---- helpers ----

    /// <summary>array_isspace: the whitespace array_in skips around elements.</summary>
    private static bool IsArraySpace(char c) => c is ' ' or '\t' or '\n' or '\r' or '\v' or '\f';

    private static int SkipSpace(ReadOnlySpan<char> s, int pos)
    {
        while (pos < s.Length && IsArraySpace(s[pos])) pos++;
        return pos;
    }

    private static PgValueFormatException Malformed(PgTypeInfo type, ReadOnlySpan<char> text, string problem)
    {
        const int max = 200;
        var shown = text.Length <= max ? text.ToString() : string.Concat(text[..max], "…");
        return new PgValueFormatException(type, $"{problem} in \"{shown}\"");
    }
}
