using System.Text.Json.Nodes;

namespace Hindsight.Context;

/// <summary>
/// The application context attached to database changes (who, which request, which job), carried
/// in an <see cref="AsyncLocal{T}"/> scope so it follows the logical flow of a request or job
/// across <c>await</c>s and never leaks between concurrent flows.
/// </summary>
/// <example>
/// <code>
/// using (HindsightContext.Push(new { job = "nightly-sync" }))
/// {
///     await db.SaveChangesAsync(); // stored with context {"job":"nightly-sync"}
/// }
/// </code>
/// </example>
/// <remarks>
/// Scopes nest: an inner scope's values are merged over the outer one's, the inner value winning
/// per top-level key. Disposing a scope restores the nearest enclosing scope that is still open.
/// Disposing out of order (an outer scope before an inner one) is tolerated: the outer scope is
/// marked closed, the inner one stays current with the values it had when pushed, and disposing
/// it then skips the closed outer scope.
/// </remarks>
public static class HindsightContext
{
    /// <summary>The worker's default limit (<c>--context-size-limit</c>): 64 KiB.</summary>
    public const int DefaultSizeLimit = 64 * 1024;

    private static readonly AsyncLocal<ContextScope?> Scope = new();
    private static int _sizeLimit = DefaultSizeLimit;

    /// <summary>
    /// Largest context, in bytes of UTF-8 JSON, that may be pushed or sent; larger ones throw
    /// <see cref="HindsightContextTooLargeException"/>. Default 64 KiB, the worker's default; keep it
    /// no higher than the worker's <c>--context-size-limit</c>. Process-wide.
    /// </summary>
    public static int SizeLimit
    {
        get => Volatile.Read(ref _sizeLimit);
        set => Volatile.Write(ref _sizeLimit, value > 0 ? value : throw new ArgumentOutOfRangeException(nameof(value), "must be positive"));
    }

    internal static ContextScope? CurrentScope
    {
        get => Scope.Value;
        set => Scope.Value = value;
    }

    /// <summary>
    /// Opens a scope whose values are merged over the current context until it is disposed.
    /// </summary>
    /// <param name="values">An anonymous object, a dictionary, a POCO or a <see cref="JsonObject"/>: anything
    /// that serialises (System.Text.Json) to a JSON object. It is copied: later changes to it are not seen.</param>
    /// <returns>The scope; dispose it to restore the outer context.</returns>
    /// <exception cref="ArgumentException">The values do not serialise to a JSON object, or a string contains U+0000
    /// (PostgreSQL text cannot carry it).</exception>
    /// <exception cref="HindsightContextTooLargeException">The merged context is larger than <see cref="SizeLimit"/>.</exception>
    public static IDisposable Push(object values)
    {
        var scope = new ContextScope(CurrentScope, ContextJson.ToObject(values));
        EnsureWithinLimit(scope.Utf8.Length);
        CurrentScope = scope;
        return scope;
    }

    /// <summary>A copy of the merged current context, or null when no scope is open.</summary>
    public static JsonObject? Current => CurrentScope?.Snapshot();

    /// <summary>The merged current context as JSON text (serialised once per scope), or null when no scope is open.</summary>
    public static string? CurrentJson => CurrentScope?.Json;

    /// <summary>The merged current context as UTF-8 JSON (serialised once per scope), or null when no scope is open.</summary>
    public static ReadOnlyMemory<byte>? CurrentUtf8 => CurrentScope?.Utf8;

    /// <summary>
    /// Serialises an explicit context the same way a pushed scope is (validation, limit), for code
    /// that passes the context by hand rather than through a scope.
    /// </summary>
    /// <exception cref="ArgumentException">Not a JSON object, or contains U+0000.</exception>
    /// <exception cref="HindsightContextTooLargeException">Larger than <see cref="SizeLimit"/>.</exception>
    public static string Serialize(object values)
    {
        var json = ContextJson.Serialize(ContextJson.ToObject(values));
        EnsureWithinLimit(System.Text.Encoding.UTF8.GetByteCount(json));
        return json;
    }

    /// <summary>The JSON to send for the current scope, checked against the limit, or null when no scope is open.</summary>
    /// <exception cref="HindsightContextTooLargeException">The context is larger than <see cref="SizeLimit"/> (lowered since the push).</exception>
    public static string? CurrentJsonForSending()
    {
        var scope = CurrentScope;
        if (scope is null) return null;
        EnsureWithinLimit(scope.Utf8.Length);
        return scope.Json;
    }

    private static void EnsureWithinLimit(int bytes)
    {
        var limit = SizeLimit;
        if (bytes > limit) throw new HindsightContextTooLargeException(bytes, limit);
    }
}
