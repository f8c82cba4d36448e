using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace Hindsight.Chain;

/// <summary>
/// Turns JSON text into exactly the bytes PostgreSQL 15 prints for it as jsonb (<c>'…'::jsonb::text</c>), so that a
/// change row hashes the same whether it was rendered here or read back from the server.
/// </summary>
/// <remarks>
/// <para>What jsonb does to a document, and so what this does (src/backend/utils/adt/jsonb.c, jsonb_util.c, json.c, numeric.c):</para>
/// <list type="bullet">
/// <item>Object keys are sorted by byte length first, then bytewise (<c>lengthCompareJsonbString</c>): jsonb sorts
/// keys for binary search, and comparing lengths first is cheaper than a full comparison; it is not a collation.
/// Of duplicate keys the last one wins (<c>uniqueifyJsonbObject</c>).</item>
/// <item>Output separators are <c>", "</c> and <c>": "</c> (<c>JsonbToCStringWorker</c>).</item>
/// <item>Strings are stored unescaped and printed by <c>escape_json</c>: only <c>" \ \b \f \n \r \t</c> and other
/// bytes below 0x20 (as <c>\u00xx</c>, lowercase hex) are escaped; <c>/</c>, 0x7f and non-ASCII are raw UTF-8.
/// <c>\u0000</c> and unpaired surrogate escapes are refused.</item>
/// <item>Numbers are stored as <c>numeric</c> and printed by <c>numeric_out</c>: never an exponent, as many fraction
/// digits as the input's display scale (fraction digits minus exponent, at least 0), zero without a sign.</item>
/// </list>
/// <para>The work happens in a per-thread scratch buffer, without allocating for ordinary documents: the canonical
/// form of each value is appended to it, and an object, once complete, is rewritten there with its members sorted.</para>
/// </remarks>
internal static class JsonbText
{
    /// <summary>
    /// Deepest nesting accepted. PostgreSQL's own limit is its stack (<c>max_stack_depth</c>; with the default 2MB, 10,000 levels
    /// pass and 50,000 do not), so this stays above anything a server can have stored; the work here is
    /// iterative and does not recurse.
    /// </summary>
    private const int MaxDepth = 1_000_000;

    /// <summary><c>numeric</c>'s limits (numeric.c): the display scale is 14 bits, the weight (the power of 10000 of the first digit) 16.</summary>
    private const int MaxDisplayScale = 0x3FFF;

    private const int MaxWeight = short.MaxValue;

    /// <summary><c>set_var_from_str</c> refuses exponents of INT_MAX / 2 or more either way, even on zero.</summary>
    private const long MaxExponent = int.MaxValue / 2;

    /// <summary>Scratch buffers larger than this are not kept for the next call on the thread.</summary>
    private const int RetainLimit = 64 * 1024;

    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = MaxDepth };

    /// <summary>Bytes that <c>escape_json</c> escapes: control characters, the quote and the backslash.</summary>
    private static readonly SearchValues<byte> NeedsEscape = SearchValues.Create(
        [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
         0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
         (byte)'"', (byte)'\\']);

    [ThreadStatic]
    private static Scratch? t_scratch;

    /// <summary>Writes the jsonb text form of <paramref name="json"/> to <paramref name="output"/>.</summary>
    /// <exception cref="FormatException">The input is not JSON, or is JSON that jsonb refuses.</exception>
    public static void Write(ReadOnlySpan<byte> json, IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        var scratch = Rent();
        try
        {
            var length = Canonicalize(json, scratch);
            output.Write(scratch.Bytes.AsSpan(0, length));
        }
        finally
        {
            Return(scratch);
        }
    }

    /// <summary>The jsonb text form of <paramref name="json"/>, as UTF-8.</summary>
    /// <exception cref="FormatException">The input is not JSON, or is JSON that jsonb refuses.</exception>
    public static byte[] ToBytes(ReadOnlySpan<byte> json)
    {
        var scratch = Rent();
        try
        {
            var length = Canonicalize(json, scratch);
            return scratch.Bytes.AsSpan(0, length).ToArray();
        }
        finally
        {
            Return(scratch);
        }
    }

    // Taken off the thread while in use, so that a nested call (an IBufferWriter calling back) gets its own.
    private static Scratch Rent()
    {
        var scratch = t_scratch ?? new Scratch();
        t_scratch = null;
        return scratch;
    }

    private static void Return(Scratch scratch)
    {
        scratch.Trim();
        t_scratch = scratch;
    }

    /// <summary>Leaves the canonical form in <c>scratch.Bytes[0..length]</c> and returns its length.</summary>
    private static int Canonicalize(ReadOnlySpan<byte> json, Scratch s)
    {
        s.Clear();
        var reader = new Utf8JsonReader(json, ReaderOptions);
        try
        {
            if (!reader.Read()) throw new FormatException("Not JSON: the input is empty.");
            do
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.StartObject:
                        s.BeginValue();
                        s.PushContainer(isObject: true);
                        break;
                    case JsonTokenType.StartArray:
                        s.BeginValue();
                        s.PushContainer(isObject: false);
                        s.Append((byte)'[');
                        break;
                    case JsonTokenType.PropertyName:
                        s.BeginKey();
                        AppendString(s, reader.ValueSpan, reader.ValueIsEscaped, escapeForOutput: false);
                        s.EndKey();
                        break;
                    case JsonTokenType.EndObject:
                        EndObject(s);
                        s.EndValue();
                        break;
                    case JsonTokenType.EndArray:
                        s.Append((byte)']');
                        s.PopContainer();
                        s.EndValue();
                        break;
                    case JsonTokenType.String:
                        s.BeginValue();
                        s.Append((byte)'"');
                        AppendString(s, reader.ValueSpan, reader.ValueIsEscaped, escapeForOutput: true);
                        s.Append((byte)'"');
                        s.EndValue();
                        break;
                    case JsonTokenType.Number:
                        s.BeginValue();
                        AppendNumber(s, reader.ValueSpan);
                        s.EndValue();
                        break;
                    case JsonTokenType.True:
                        s.BeginValue();
                        s.Append("true"u8);
                        s.EndValue();
                        break;
                    case JsonTokenType.False:
                        s.BeginValue();
                        s.Append("false"u8);
                        s.EndValue();
                        break;
                    case JsonTokenType.Null:
                        s.BeginValue();
                        s.Append("null"u8);
                        s.EndValue();
                        break;
                    default:
                        throw new FormatException($"Not JSON: unexpected {reader.TokenType}.");
                }
            }
            while (s.Depth > 0 && reader.Read());

            // The reader is given the whole input, so it throws rather than stopping inside a value; after the one
            // top-level value only whitespace may follow (Read throws on anything else).
            if (s.Depth > 0 || reader.Read()) throw new FormatException("Not JSON: the document is incomplete or has trailing content.");
            return s.Length;
        }
        catch (JsonException e)
        {
            throw new FormatException($"Not JSON: {e.Message}", e);
        }
    }

    /// <summary>
    /// Rewrites the object just read — its members lie in the scratch as key bytes (unescaped) followed by the value's
    /// canonical form — as <c>{"key": value, …}</c> in jsonb's key order, in its place.
    /// </summary>
    private static void EndObject(Scratch s)
    {
        var container = s.PopContainer();
        var members = s.MembersOf(container);
        // Equal keys sort later-first, so the first of each run of equal keys is the one that wins.
        SortMembers(members, new JsonbKeyOrder(s.Bytes));

        var outputStart = s.Length;
        s.Append((byte)'{');
        for (var i = 0; i < members.Length; i++)
        {
            var m = members[i];
            if (i > 0 && JsonbKeyOrder.SameKey(s.Bytes, m, members[i - 1])) continue;
            if (s.Length > outputStart + 1) s.Append(", "u8);
            s.Append((byte)'"');
            s.AppendEscapedCopy(m.KeyStart, m.KeyLength);
            s.Append("\": "u8);
            s.AppendCopy(m.ValueStart, m.ValueLength);
        }
        s.Append((byte)'}');
        s.MoveDown(outputStart, container.Start);
        s.DropMembers(container);
    }

    /// <summary>
    /// Insertion sort for the few keys of a row (no allocation, and rows often come close to sorted); the span sort,
    /// which wraps the comparer in a delegate, for larger objects.
    /// </summary>
    private static void SortMembers(Span<Member> members, JsonbKeyOrder order)
    {
        if (members.Length > 64)
        {
            members.Sort(order);
            return;
        }
        for (var i = 1; i < members.Length; i++)
        {
            var m = members[i];
            var j = i - 1;
            while (j >= 0 && order.Compare(members[j], m) > 0)
            {
                members[j + 1] = members[j];
                j--;
            }
            members[j + 1] = m;
        }
    }

    /// <summary>
    /// Appends a string's content (without quotes), unescaped, and escaped again as <c>escape_json</c> does when
    /// <paramref name="escapeForOutput"/> (keys are kept unescaped until their object is sorted, as jsonb compares them so).
    /// </summary>
    private static void AppendString(Scratch s, ReadOnlySpan<byte> raw, bool isEscaped, bool escapeForOutput)
    {
        // PostgreSQL checks the encoding of all its text input; escapes are ASCII, so checking the raw bytes suffices.
        if (!Utf8.IsValid(raw)) throw new FormatException("Not JSON: a string is not valid UTF-8.");
        // Unescaped, the reader has made sure the string holds no quote, backslash or control character: nothing
        // escape_json would change.
        if (!isEscaped)
        {
            s.Append(raw);
            return;
        }

        while (!raw.IsEmpty)
        {
            var backslash = raw.IndexOf((byte)'\\');
            if (backslash < 0)
            {
                s.Append(raw);
                return;
            }
            s.Append(raw[..backslash]);
            var escape = raw[backslash + 1];
            raw = raw[(backslash + 2)..];
            byte single;
            switch (escape)
            {
                case (byte)'u':
                    var codePoint = ReadUnicodeEscape(ref raw);
                    if (codePoint >= 0x80)
                    {
                        s.AppendRune(new Rune(codePoint));
                        continue;
                    }
                    single = (byte)codePoint;
                    break;
                case (byte)'b': single = (byte)'\b'; break;
                case (byte)'f': single = (byte)'\f'; break;
                case (byte)'n': single = (byte)'\n'; break;
                case (byte)'r': single = (byte)'\r'; break;
                case (byte)'t': single = (byte)'\t'; break;
                default: single = escape; break; // \" \\ \/ (the reader allows no others)
            }
            if (escapeForOutput) s.AppendEscaped(single);
            else s.Append(single);
        }
    }

    /// <summary>
    /// Reads the four hex digits after <c>\u</c> (and a second <c>\uXXXX</c> for a surrogate pair), refusing what
    /// PostgreSQL's json lexer refuses: <c>\u0000</c> (text can't hold it) and surrogates that are not a high one
    /// followed at once by a low one.
    /// </summary>
    private static int ReadUnicodeEscape(ref ReadOnlySpan<byte> rest)
    {
        var unit = ReadHex4(rest);
        rest = rest[4..];
        if (unit == 0) throw new FormatException(@"jsonb refuses \u0000: it cannot be converted to text.");
        if (char.IsLowSurrogate((char)unit))
            throw new FormatException(@"jsonb refuses a Unicode low surrogate escape that does not follow a high surrogate.");
        if (!char.IsHighSurrogate((char)unit)) return unit;

        if (rest.Length < 6 || rest[0] != (byte)'\\' || rest[1] != (byte)'u' || !char.IsLowSurrogate((char)ReadHex4(rest[2..])))
            throw new FormatException(@"jsonb refuses a Unicode high surrogate escape that is not followed by a low surrogate escape.");
        var low = ReadHex4(rest[2..]);
        rest = rest[6..];
        return char.ConvertToUtf32((char)unit, (char)low);
    }

    // The reader has checked that four hex digits follow \u.
    private static int ReadHex4(ReadOnlySpan<byte> hex)
    {
        var value = 0;
        for (var i = 0; i < 4; i++)
        {
            var c = hex[i];
            value = (value << 4) | (c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
        }
        return value;
    }

    /// <summary>
    /// Appends a JSON number as <c>numeric_in</c> then <c>numeric_out</c> print it: the exact value with the exponent
    /// expanded, display scale = max(0, fraction digits − exponent), no sign on zero.
    /// </summary>
    private static void AppendNumber(Scratch s, ReadOnlySpan<byte> token)
    {
        // The reader has checked the syntax: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
        var negative = token[0] == (byte)'-';
        var i = negative ? 1 : 0;
        var intStart = i;
        while (i < token.Length && IsDigit(token[i])) i++;
        var intDigits = token[intStart..i];
        var fracDigits = ReadOnlySpan<byte>.Empty;
        if (i < token.Length && token[i] == (byte)'.')
        {
            var fracStart = ++i;
            while (i < token.Length && IsDigit(token[i])) i++;
            fracDigits = token[fracStart..i];
        }
        var hasExponent = i < token.Length;
        var exponent = hasExponent ? ReadExponent(token[(i + 1)..]) : 0;
        if (exponent is >= MaxExponent or <= -MaxExponent) throw NumericOverflow(token);

        // The digits as one run D = intDigits ++ fracDigits; the decimal point sits before D[point].
        var point = intDigits.Length + exponent;
        var displayScale = Math.Max(0, fracDigits.Length - exponent);
        var firstNonZero = FirstNonZero(intDigits, fracDigits);
        if (displayScale > MaxDisplayScale) throw NumericOverflow(token);

        if (firstNonZero < 0)
        {
            // Zero: numeric drops the sign (make_result forces it positive) but keeps the scale.
            s.Append((byte)'0');
            if (displayScale > 0)
            {
                s.Append((byte)'.');
                s.AppendZeros((int)displayScale);
            }
            return;
        }

        // numeric keeps base-10000 digits; the weight of the first one (its power of 10000) must fit in 16 bits.
        // (Far below 1, the display scale limit is reached first.)
        var leadingExponent = point - firstNonZero - 1;
        if (leadingExponent >= 4L * (MaxWeight + 1)) throw NumericOverflow(token);

        if (!hasExponent)
        {
            // Without an exponent JSON's number syntax is numeric_out's already (no leading zeros, every fraction
            // digit kept), and the value is not zero, so the sign stays.
            s.Append(token);
            return;
        }

        if (negative) s.Append((byte)'-');
        if (leadingExponent < 0) s.Append((byte)'0');
        else AppendDigits(s, intDigits, fracDigits, firstNonZero, point);
        if (displayScale > 0)
        {
            s.Append((byte)'.');
            AppendDigits(s, intDigits, fracDigits, point, point + displayScale);
        }
    }

    /// <summary>Appends D[from..to), where D = intDigits ++ fracDigits and is taken as zero outside its bounds.</summary>
    private static void AppendDigits(Scratch s, ReadOnlySpan<byte> intDigits, ReadOnlySpan<byte> fracDigits, long from, long to)
    {
        long intLength = intDigits.Length, digitCount = intDigits.Length + fracDigits.Length;
        s.AppendZeros((int)(Math.Min(to, 0) - Math.Min(from, 0)));
        AppendPart(s, intDigits, Math.Max(from, 0), Math.Min(to, intLength));
        AppendPart(s, fracDigits, Math.Max(from, intLength) - intLength, Math.Min(to, digitCount) - intLength);
        s.AppendZeros((int)(Math.Max(to, digitCount) - Math.Max(from, digitCount)));

        static void AppendPart(Scratch s, ReadOnlySpan<byte> part, long from, long to)
        {
            if (to > from) s.Append(part[(int)from..(int)to]);
        }
    }

    private static int FirstNonZero(ReadOnlySpan<byte> intDigits, ReadOnlySpan<byte> fracDigits)
    {
        var i = intDigits.IndexOfAnyExcept((byte)'0');
        if (i >= 0) return i;
        var f = fracDigits.IndexOfAnyExcept((byte)'0');
        return f < 0 ? -1 : intDigits.Length + f;
    }

    /// <summary>The exponent after <c>e</c>, saturated past <see cref="MaxExponent"/> (which is refused anyway).</summary>
    private static long ReadExponent(ReadOnlySpan<byte> text)
    {
        var negative = text[0] == (byte)'-';
        if (text[0] is (byte)'-' or (byte)'+') text = text[1..];
        long value = 0;
        foreach (var c in text)
        {
            value = value * 10 + (c - '0');
            if (value > MaxExponent) break;
        }
        return negative ? -value : value;
    }

    private static bool IsDigit(byte c) => (uint)(c - '0') <= 9;

    private static FormatException NumericOverflow(ReadOnlySpan<byte> token) =>
        new($"jsonb refuses the number {Encoding.UTF8.GetString(token[..Math.Min(token.Length, 40)])}{(token.Length > 40 ? "…" : "")}: value overflows numeric format.");

    /// <summary>An object's member in the scratch: its key (unescaped) and its value (canonical) bytes.</summary>
    private struct Member
    {
        public int KeyStart;
        public int KeyLength;
        public int ValueStart;
        public int ValueLength;
    }

    /// <summary>An open object or array: where its output starts, and its members (objects) or element count (arrays).</summary>
    private struct Container
    {
        public int Start;
        public int FirstMember;
        public int Count;
        public bool IsObject;
    }

    /// <summary>
    /// jsonb's key order (<c>lengthCompareJsonbPair</c>): shorter keys first, equal lengths bytewise; equal keys
    /// latest first (a member's key starts later in the scratch the later it came), so the last duplicate wins.
    /// </summary>
    private readonly struct JsonbKeyOrder(byte[] bytes) : IComparer<Member>
    {
        public int Compare(Member x, Member y)
        {
            if (x.KeyLength != y.KeyLength) return x.KeyLength < y.KeyLength ? -1 : 1;
            var c = bytes.AsSpan(x.KeyStart, x.KeyLength).SequenceCompareTo(bytes.AsSpan(y.KeyStart, y.KeyLength));
            return c != 0 ? c : y.KeyStart.CompareTo(x.KeyStart);
        }

        public static bool SameKey(byte[] bytes, Member x, Member y) =>
            bytes.AsSpan(x.KeyStart, x.KeyLength).SequenceEqual(bytes.AsSpan(y.KeyStart, y.KeyLength));
    }

    /// <summary>
    /// The per-thread work area: a byte buffer the canonical form is built in, and stacks of open containers and
    /// of the members of open objects.
    /// </summary>
    private sealed class Scratch
    {
        private readonly byte[] _home = new byte[4096];
        private Member[] _members = new Member[64];
        private Container[] _containers = new Container[16];
        private int _memberCount;

        public Scratch() => Bytes = _home;

        public byte[] Bytes { get; private set; }

        public int Length { get; private set; }

        public int Depth { get; private set; }

        public void Clear()
        {
            Length = 0;
            Depth = 0;
            _memberCount = 0;
        }

        /// <summary>Lets go of buffers grown past <see cref="RetainLimit"/> by a large document.</summary>
        public void Trim()
        {
            if (Bytes.Length > RetainLimit)
            {
                ArrayPool<byte>.Shared.Return(Bytes);
                Bytes = _home;
            }
            if (_members.Length * 16 > RetainLimit) _members = new Member[64];
            if (_containers.Length * 16 > RetainLimit) _containers = new Container[16];
        }

        /// <summary>Before a value: the separator between array elements.</summary>
        public void BeginValue()
        {
            if (Depth == 0) return;
            ref var parent = ref _containers[Depth - 1];
            if (parent.IsObject) return;
            if (parent.Count++ > 0) Append(", "u8);
        }

        /// <summary>After a value: an object member's value ends here.</summary>
        public void EndValue()
        {
            if (Depth == 0 || !_containers[Depth - 1].IsObject) return;
            ref var member = ref _members[_memberCount - 1];
            member.ValueLength = Length - member.ValueStart;
        }

        public void BeginKey()
        {
            if (_memberCount == _members.Length) Array.Resize(ref _members, _members.Length * 2);
            _members[_memberCount++] = new Member { KeyStart = Length };
        }

        public void EndKey()
        {
            ref var member = ref _members[_memberCount - 1];
            member.KeyLength = Length - member.KeyStart;
            member.ValueStart = Length;
        }

        public void PushContainer(bool isObject)
        {
            if (Depth == _containers.Length) Array.Resize(ref _containers, _containers.Length * 2);
            _containers[Depth++] = new Container { Start = Length, FirstMember = _memberCount, IsObject = isObject };
        }

        public Container PopContainer() => _containers[--Depth];

        public Span<Member> MembersOf(Container c) => _members.AsSpan(c.FirstMember, _memberCount - c.FirstMember);

        public void DropMembers(Container c) => _memberCount = c.FirstMember;

        /// <summary>Moves <c>Bytes[from..Length]</c> down to <paramref name="to"/>, which becomes its start.</summary>
        public void MoveDown(int from, int to)
        {
            var length = Length - from;
            Bytes.AsSpan(from, length).CopyTo(Bytes.AsSpan(to));
            Length = to + length;
        }

        public void Append(byte b)
        {
            if (Length == Bytes.Length) Grow(1);
            Bytes[Length++] = b;
        }

        public void Append(ReadOnlySpan<byte> bytes)
        {
            if (Bytes.Length - Length < bytes.Length) Grow(bytes.Length);
            bytes.CopyTo(Bytes.AsSpan(Length));
            Length += bytes.Length;
        }

        public void AppendZeros(int count)
        {
            if (count <= 0) return;
            if (Bytes.Length - Length < count) Grow(count);
            Bytes.AsSpan(Length, count).Fill((byte)'0');
            Length += count;
        }

        public void AppendRune(Rune rune)
        {
            if (Bytes.Length - Length < 4) Grow(4);
            Length += rune.EncodeToUtf8(Bytes.AsSpan(Length));
        }

        /// <summary>Appends a copy of <c>Bytes[start..start+length]</c>, which lies before <see cref="Length"/>.</summary>
        public void AppendCopy(int start, int length)
        {
            if (Bytes.Length - Length < length) Grow(length);
            Bytes.AsSpan(start, length).CopyTo(Bytes.AsSpan(Length));
            Length += length;
        }

        /// <summary>Appends <c>Bytes[start..start+length]</c> (a key, unescaped) as <c>escape_json</c> prints it.</summary>
        public void AppendEscapedCopy(int start, int length)
        {
            if (Bytes.AsSpan(start, length).IndexOfAny(NeedsEscape) < 0)
            {
                AppendCopy(start, length);
                return;
            }
            // Each byte becomes at most six (\u00xx); grow once so that reading and writing use the same array.
            if (Bytes.Length - Length < length * 6) Grow(length * 6);
            for (var i = 0; i < length; i++) AppendEscaped(Bytes[start + i]);
        }

        /// <summary>Appends one byte as <c>escape_json</c> prints it.</summary>
        public void AppendEscaped(byte b)
        {
            switch (b)
            {
                case (byte)'\b': Append("\\b"u8); break;
                case (byte)'\f': Append("\\f"u8); break;
                case (byte)'\n': Append("\\n"u8); break;
                case (byte)'\r': Append("\\r"u8); break;
                case (byte)'\t': Append("\\t"u8); break;
                case (byte)'"': Append("\\\""u8); break;
                case (byte)'\\': Append("\\\\"u8); break;
                case < 0x20:
                    Append("\\u00"u8);
                    Append((byte)"0123456789abcdef"u8[b >> 4]);
                    Append((byte)"0123456789abcdef"u8[b & 0xF]);
                    break;
                default: Append(b); break;
            }
        }

        private void Grow(int needed)
        {
            var next = ArrayPool<byte>.Shared.Rent(Math.Max(Bytes.Length * 2, Length + needed));
            Bytes.AsSpan(0, Length).CopyTo(next);
            if (Bytes != _home) ArrayPool<byte>.Shared.Return(Bytes);
            Bytes = next;
        }
    }
}
