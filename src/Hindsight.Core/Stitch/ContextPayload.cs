using System.Text;
using System.Text.Json;

namespace Hindsight.Stitch;

/// <summary>
/// Turns the payload of a context message into the JSON stored in <c>changes.context</c>.
/// A payload that breaks a rule never stops capture: it becomes a context in a stable shape,
/// <c>{"hindsight":{"contextError":{"reason":…,"prefix":…,"bytes":…,"detail":…}}}</c>, and the
/// row changes it applies to are stored as usual.
/// </summary>
internal static class ContextPayload
{
    /// <summary>Reasons recorded in <c>contextError.reason</c>.</summary>
    public static class Reasons
    {
        /// <summary>Larger than the configured limit.</summary>
        public const string TooLarge = "too_large";
        /// <summary>Not valid UTF-8.</summary>
        public const string InvalidUtf8 = "invalid_utf8";
        /// <summary>Not parseable JSON (or nested deeper than the parser allows).</summary>
        public const string NotJson = "not_json";
        /// <summary>Valid JSON, but not an object.</summary>
        public const string NotObject = "not_object";
        /// <summary>Valid JSON that jsonb cannot hold (a \u0000 in a string, a number out of numeric's range).</summary>
        public const string Unstorable = "unstorable";
    }

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
    private const int MaxDepth = 64;
    private const int DetailLength = 200;

    /// <summary>Validates a payload and returns the context JSON to store.</summary>
    /// <param name="prefix">The message prefix (<see cref="Context.HindsightProtocol.Prefix"/>, <see cref="Context.HindsightProtocol.BemiPrefix"/>).</param>
    /// <param name="payload">The payload bytes received (may be cut at limit + 1).</param>
    /// <param name="length">The payload's full length.</param>
    /// <param name="limit">The configured size limit in bytes.</param>
    public static string ToContextJson(string prefix, ReadOnlySpan<byte> payload, long length, int limit)
    {
        if (length > limit)
            return CountedError(Reasons.TooLarge, prefix, length, $"payload of {length} bytes exceeds the limit of {limit} bytes");

        string text;
        try { text = StrictUtf8.GetString(payload); }
        catch (DecoderFallbackException) { return CountedError(Reasons.InvalidUtf8, prefix, length, null); }

        JsonDocument doc;
        try { doc = JsonDocument.Parse(text, new JsonDocumentOptions { MaxDepth = MaxDepth }); }
        catch (JsonException e) { return CountedError(Reasons.NotJson, prefix, length, Sample(text) + " — " + e.Message); }

        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                return CountedError(Reasons.NotObject, prefix, length, Sample(text));
            if (FindUnstorable(doc.RootElement) is { } problem)
                return CountedError(Reasons.Unstorable, prefix, length, problem);
        }
        return text;
    }

    /// <summary>An error context the worker records, counted (<see cref="Diagnostics.HindsightMetrics"/>).</summary>
    private static string CountedError(string reason, string prefix, long bytes, string? detail)
    {
        Diagnostics.HindsightMetrics.ContextError();
        return Error(reason, prefix, bytes, detail);
    }

    /// <summary>The error context for a reason (public so tests and docs share one shape).</summary>
    public static string Error(string reason, string prefix, long bytes, string? detail)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteStartObject(Context.HindsightProtocol.ContextKey);
            w.WriteStartObject("contextError");
            w.WriteString("reason", reason);
            w.WriteString("prefix", prefix);
            w.WriteNumber("bytes", bytes);
            if (detail is not null) w.WriteString("detail", detail.Replace('\0', '\uFFFD'));
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static string Sample(string text) => text.Length <= DetailLength ? text : text[..DetailLength] + "…";

    // jsonb refuses \u0000 in strings and numbers beyond numeric's range; either would make the
    // store transaction fail and capture stall, so such payloads are reported instead.
    private static string? FindUnstorable(JsonElement e)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var p in e.EnumerateObject())
                {
                    if (p.Name.Contains('\0')) return "a property name contains \\u0000";
                    if (FindUnstorable(p.Value) is { } inner) return inner;
                }
                return null;
            case JsonValueKind.Array:
                foreach (var item in e.EnumerateArray())
                    if (FindUnstorable(item) is { } inner) return inner;
                return null;
            case JsonValueKind.String:
                return e.GetString()!.Contains('\0') ? "a string contains \\u0000" : null;
            case JsonValueKind.Number:
                return NumberFitsNumeric(e.GetRawText()) ? null : $"number {Sample(e.GetRawText())} is outside numeric's range";
            default:
                return null;
        }
    }

    private static bool NumberFitsNumeric(string raw)
    {
        var ePos = raw.AsSpan().IndexOfAny('e', 'E');
        if (ePos < 0) return raw.Length < 100_000;
        return int.TryParse(raw.AsSpan(ePos + 1), out var exp) && Math.Abs(exp) < 100_000;
    }
}
