using System.Text.Json;
using System.Text.Json.Nodes;

namespace Hindsight.Query;

/// <summary>
/// Equality of JSON values as PostgreSQL's <c>jsonb</c> defines it: objects regardless of key order, arrays in
/// order, strings by their characters, and numbers by their numeric value (<c>1.0</c> equals <c>1</c>,
/// <c>1e2</c> equals <c>100</c>), at any precision.
/// </summary>
internal static class JsonEquality
{
    /// <summary>Whether two JSON values are equal as jsonb (JSON null and a missing value are distinct: use null for JSON null).</summary>
    public static bool JsonbEquals(JsonNode? a, JsonNode? b)
    {
        if (a is null || b is null) return a is null && b is null;
        switch (a)
        {
            case JsonObject oa:
                if (b is not JsonObject ob || oa.Count != ob.Count) return false;
                foreach (var (key, value) in oa)
                    if (!ob.TryGetPropertyValue(key, out var other) || !JsonbEquals(value, other)) return false;
                return true;
            case JsonArray aa:
                if (b is not JsonArray ab || aa.Count != ab.Count) return false;
                for (var i = 0; i < aa.Count; i++)
                    if (!JsonbEquals(aa[i], ab[i])) return false;
                return true;
            default:
                if (b is not JsonValue vb) return false;
                var va = (JsonValue)a;
                var ka = va.GetValueKind();
                if (ka != vb.GetValueKind()) return false;
                return ka switch
                {
                    JsonValueKind.Number => NumbersEqual(va.ToJsonString(), vb.ToJsonString()),
                    JsonValueKind.String => va.GetValue<string>() == vb.GetValue<string>(),
                    _ => true, // true, false, null: the kind is the value
                };
        }
    }

    /// <summary>Compares two JSON number literals by value, exactly (no floating point).</summary>
    internal static bool NumbersEqual(string a, string b) => Canonical(a) == Canonical(b);

    /// <summary>A number literal's value as one text: equal texts for numbers equal as jsonb.</summary>
    internal static string CanonicalNumber(string number) => Canonical(number);

    /// <summary>sign, significant digits and exponent of the first significant digit: "-1234e-2" → "-1234E1".</summary>
    private static string Canonical(string number)
    {
        var s = number.AsSpan().Trim();
        var negative = s.Length > 0 && s[0] == '-';
        if (negative || (s.Length > 0 && s[0] == '+')) s = s[1..];
        var e = s.IndexOfAny('e', 'E');
        long exponent = 0;
        if (e >= 0)
        {
            exponent = long.Parse(s[(e + 1)..], System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture);
            s = s[..e];
        }
        var dot = s.IndexOf('.');
        var intPart = dot < 0 ? s : s[..dot];
        var fracPart = dot < 0 ? [] : s[(dot + 1)..];
        var digits = string.Concat(intPart, fracPart);
        // value = 0.digits × 10^(intPart.Length + exponent), after stripping leading zeros
        var point = intPart.Length + exponent;
        var lead = 0;
        while (lead < digits.Length && digits[lead] == '0') lead++;
        if (lead == digits.Length) return "0";
        digits = digits[lead..].TrimEnd('0');
        point -= lead;
        return (negative ? "-" : "") + digits + "E" + point.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }
}
