using System.Diagnostics;
using System.Reflection;
using System.Text.Json;

namespace Hindsight.Diagnostics;

/// <summary>
/// Hindsight's spans, on an <see cref="ActivitySource"/> named <see cref="SourceName"/> (OpenTelemetry:
/// <c>AddSource("Hindsight")</c>): the worker's store commits, and as-of, history, revert plans and reverts applied,
/// each a child of the caller's activity (an API request, a job). Each store commit is a span linked to the traces its changes came from: a change
/// whose context carries a W3C trace (<c>traceparent</c>, or <c>traceId</c> and <c>spanId</c> as the ASP.NET Core
/// middleware writes them), so that a trace view shows which database changes a request caused and when they became
/// queryable.
/// </summary>
public static class HindsightTracing
{
    /// <summary>The activity source's name.</summary>
    public const string SourceName = "Hindsight";

    /// <summary>Most links one store commit carries (a store transaction can hold thousands of changes).</summary>
    public const int MaxLinks = 64;

    internal static readonly ActivitySource Source = new(SourceName,
        typeof(HindsightTracing).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion);

    /// <summary>
    /// Runs <paramref name="run"/> in a span named <paramref name="name"/> (a child of the current activity: the API
    /// request or the caller's own span), tagged with <paramref name="tags"/> and, when it returns, with what
    /// <paramref name="resultTags"/> reads of its result; a failure marks the span as an error with its message.
    /// </summary>
    internal static async Task<T> TraceAsync<T>(string name, KeyValuePair<string, object?>[] tags, Func<Task<T>> run,
        Func<T, KeyValuePair<string, object?>[]>? resultTags = null)
    {
        using var activity = Source.StartActivity(name, ActivityKind.Internal, default(ActivityContext), tags);
        try
        {
            var result = await run().ConfigureAwait(false);
            if (activity is not null && resultTags is not null)
                foreach (var tag in resultTags(result)) activity.SetTag(tag.Key, tag.Value);
            return result;
        }
        catch (Exception e) when (activity is not null && Failed(activity, e))
        {
            throw; // not reached: the filter only records the failure
        }
    }

    private static bool Failed(Activity activity, Exception e)
    {
        activity.SetStatus(ActivityStatusCode.Error, e.Message);
        activity.AddException(e);
        return false;
    }

    /// <summary>A span tag.</summary>
    internal static KeyValuePair<string, object?> Tag(string key, object? value) => new(key, value);

    /// <summary>Whether anyone listens: only then are contexts read for traces.</summary>
    internal static bool Enabled => Source.HasListeners();

    /// <summary>
    /// The trace a change's context names, if any: <c>traceparent</c>, or <c>traceId</c> with <c>spanId</c>
    /// (a <c>traceId</c> alone names no span to link to).
    /// </summary>
    internal static ActivityContext? TraceOf(ReadOnlySpan<byte> contextJson)
    {
        if (contextJson.Length <= 2) return null;
        string? traceparent = null, traceId = null, spanId = null;
        try
        {
            var reader = new Utf8JsonReader(contextJson);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = reader.ValueTextEquals("traceparent"u8) ? 1 : reader.ValueTextEquals("traceId"u8) ? 2 : reader.ValueTextEquals("spanId"u8) ? 3 : 0;
                reader.Read();
                if (name != 0 && reader.TokenType == JsonTokenType.String)
                {
                    var value = reader.GetString();
                    if (name == 1) traceparent = value; else if (name == 2) traceId = value; else spanId = value;
                }
                else reader.Skip();
            }
        }
        catch (JsonException) { return null; }
        if (traceparent is not null && ActivityContext.TryParse(traceparent, null, out var parsed)) return parsed;
        if (traceId is { Length: 32 } && spanId is { Length: 16 } && IsHex(traceId) && IsHex(spanId))
            return new ActivityContext(ActivityTraceId.CreateFromString(traceId), ActivitySpanId.CreateFromString(spanId), ActivityTraceFlags.Recorded);
        return null;
    }

    private static bool IsHex(string s) => s.All(char.IsAsciiHexDigitLower);
}
