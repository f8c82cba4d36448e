using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Hindsight.Context;

/// <summary>Turns what callers pass (anonymous object, dictionary, JsonObject) into a validated JsonObject and its JSON text.</summary>
internal static class ContextJson
{
    // Relaxed escaping keeps non-ASCII text as UTF-8 instead of \uXXXX: the JSON goes to
    // PostgreSQL, never into HTML, and the byte count checked against the limit stays honest.
    private static readonly JsonSerializerOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>A detached JsonObject holding <paramref name="values"/>.</summary>
    public static JsonObject ToObject(object values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var node = values switch
        {
            // Clone so later changes to the caller's object do not alter a scope already pushed.
            JsonObject o => o.DeepClone(),
            JsonNode other => other.DeepClone(),
            JsonElement e => JsonNode.Parse(e.GetRawText()),
            _ => JsonSerializer.SerializeToNode(values, values.GetType(), Options),
        };
        if (node is not JsonObject obj)
            throw new ArgumentException(
                $"A Hindsight context must serialise to a JSON object, but {values.GetType().Name} gives {node?.GetValueKind().ToString() ?? "null"}.",
                nameof(values));
        RejectNul(obj, "");
        return obj;
    }

    /// <summary>The JSON text of <paramref name="obj"/>.</summary>
    public static string Serialize(JsonObject obj) => obj.ToJsonString(Options);

    // PostgreSQL text (the message payload) and jsonb cannot hold U+0000; the worker would store
    // an "unstorable" error instead of the values, so refuse it where the caller can fix it.
    private static void RejectNul(JsonNode? node, string path)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var (name, value) in o)
                {
                    if (name.Contains('\0')) throw NulError($"{path}/{name.Replace("\0", "\\u0000")}");
                    RejectNul(value, $"{path}/{name}");
                }
                break;
            case JsonArray a:
                for (var i = 0; i < a.Count; i++) RejectNul(a[i], $"{path}/{i}");
                break;
            case JsonValue v when v.GetValueKind() == JsonValueKind.String:
                // Whatever CLR type holds the value (string, char, JsonElement), its JSON text decodes to the stored string.
                if (JsonSerializer.Deserialize<string>(v.ToJsonString())!.Contains('\0')) throw NulError(path);
                break;
        }
    }

    private static ArgumentException NulError(string path) =>
        new($"Hindsight context value at '{(path.Length == 0 ? "/" : path)}' contains a NUL character (\\u0000), " +
            "which PostgreSQL text and jsonb cannot store. Remove or replace it before pushing the context.");
}
