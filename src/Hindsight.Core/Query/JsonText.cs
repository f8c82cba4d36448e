using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Hindsight.Query;

/// <summary>Validation of JSON given by callers, and the store's text forms of keys.</summary>
internal static class JsonText
{
    private static readonly JsonSerializerOptions Compact = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Returns <paramref name="text"/> (compact) when it is a JSON object; throws otherwise.</summary>
    public static string? RequireObject(string? text, string what)
    {
        if (text is null) return null;
        JsonNode? node;
        try { node = JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { AllowDuplicateProperties = false }); }
        catch (JsonException e) { throw new ArgumentException($"{what} must be a JSON object, e.g. {{\"userId\":\"u1\"}}: {e.Message}", what); }
        if (node is not JsonObject obj)
            throw new ArgumentException($"{what} must be a JSON object, e.g. {{\"userId\":\"u1\"}}, not {Kind(node)}", what);
        if (ContainsNul(obj))
            throw new ArgumentException($"{what} must not contain \\u0000 (PostgreSQL's jsonb cannot hold it)", what);
        return obj.ToJsonString(Compact);
    }

    private static bool ContainsNul(JsonNode? node) => node switch
    {
        JsonObject o => o.Any(kv => kv.Key.Contains('\0') || ContainsNul(kv.Value)),
        JsonArray a => a.Any(ContainsNul),
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>().Contains('\0'),
        _ => false,
    };

    private static string Kind(JsonNode? node) => node switch
    {
        null => "null",
        JsonArray => "an array",
        JsonValue v => v.GetValueKind() switch
        {
            JsonValueKind.String => "a string",
            JsonValueKind.Number => "a number",
            _ => "a boolean",
        },
        _ => "something else",
    };

    /// <summary>
    /// The spellings under which a key may be stored: as given, and, for a composite key written as a JSON
    /// array (<c>[1, "a"]</c>), the compact form capture writes (<c>[1,"a"]</c>).
    /// </summary>
    public static string[] KeyForms(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (key.Length == 0 || key.TrimStart()[0] != '[') return [key];
        try
        {
            if (JsonNode.Parse(key) is JsonArray array)
            {
                var compact = array.ToJsonString(Compact);
                return compact == key ? [key] : [key, compact];
            }
        }
        catch (JsonException) { /* a one-column key that merely starts with '[' */ }
        return [key];
    }
}
