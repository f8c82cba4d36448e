namespace Hindsight.Context;

/// <summary>
/// Thrown when a context, serialised as UTF-8 JSON, is larger than <see cref="HindsightContext.SizeLimit"/>.
/// </summary>
/// <remarks>
/// The capture worker would store such a context as an error instead of the values, so the
/// application learns about it here, before anything is sent, rather than finding the audit
/// trail silently degraded. It is thrown when the scope is pushed and again before a context is
/// emitted (the limit may have been lowered in between, or an explicit context passed).
/// </remarks>
public sealed class HindsightContextTooLargeException : InvalidOperationException
{
    /// <summary>Creates the exception for a context of <paramref name="bytes"/> bytes.</summary>
    public HindsightContextTooLargeException(int bytes, int limit)
        : base($"The Hindsight context is {bytes} bytes of UTF-8 JSON, more than the limit of {limit} bytes " +
               "(HindsightContext.SizeLimit, which should match the worker's --context-size-limit). Nothing was sent.")
    {
        Bytes = bytes;
        Limit = limit;
    }

    /// <summary>Size of the serialised context in bytes.</summary>
    public int Bytes { get; }

    /// <summary>The limit in force.</summary>
    public int Limit { get; }
}
