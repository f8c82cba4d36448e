using System.Text;
using System.Text.Json.Nodes;

namespace Hindsight.Context;

/// <summary>
/// One pushed scope: its merged context (parent's values overlaid with its own), serialised once
/// here because the same JSON is sent with every write made while the scope is current.
/// </summary>
internal sealed class ContextScope : IDisposable
{
    private readonly JsonObject _merged;

    public ContextScope(ContextScope? parent, JsonObject own)
    {
        Parent = parent;
        _merged = parent is null ? new JsonObject() : (JsonObject)parent._merged.DeepClone();
        // Inner wins per top-level key: nested objects are replaced, not deep-merged, so a scope
        // that sets "user" states the whole user rather than patching part of an outer one.
        foreach (var (key, value) in own) _merged[key] = value?.DeepClone();
        Json = ContextJson.Serialize(_merged);
        Utf8 = Encoding.UTF8.GetBytes(Json);
    }

    public ContextScope? Parent { get; }

    public bool Disposed { get; private set; }

    /// <summary>The merged context as JSON text.</summary>
    public string Json { get; }

    /// <summary>The same JSON as UTF-8 bytes (what PostgreSQL receives and the worker measures).</summary>
    public byte[] Utf8 { get; }

    /// <summary>A copy of the merged context (copies, so callers cannot change what is sent).</summary>
    public JsonObject Snapshot() => (JsonObject)_merged.DeepClone();

    public void Dispose()
    {
        if (Disposed) return;
        Disposed = true;
        // Only the current scope moves the pointer: disposing an outer scope while an inner one is
        // still current (out of order) just marks it, and the inner one keeps the values it merged.
        // When the inner one goes, the nearest ancestor that is still open becomes current.
        if (HindsightContext.CurrentScope == this) HindsightContext.CurrentScope = NearestOpen(Parent);
    }

    private static ContextScope? NearestOpen(ContextScope? scope)
    {
        while (scope is { Disposed: true }) scope = scope.Parent;
        return scope;
    }
}
