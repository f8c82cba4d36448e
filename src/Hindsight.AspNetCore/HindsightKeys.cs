namespace Hindsight.AspNetCore;

/// <summary>The top-level keys the middleware writes into the context (camelCase, flat, so <c>context->>'userId'</c> works).</summary>
public static class HindsightKeys
{
    /// <summary>The user's id: the NameIdentifier claim, else <c>sub</c>. Absent for anonymous requests.</summary>
    public const string UserId = "userId";
    /// <summary>The user's name (<c>ClaimsIdentity.Name</c>), when present.</summary>
    public const string UserName = "userName";
    /// <summary>The HTTP method.</summary>
    public const string Method = "method";
    /// <summary>The matched endpoint's route template (e.g. <c>/orders/{id}</c>), when routing has matched one.</summary>
    public const string Route = "route";
    /// <summary>The request path (PathBase + Path), without the query string.</summary>
    public const string Path = "path";
    /// <summary><c>HttpContext.TraceIdentifier</c>.</summary>
    public const string RequestId = "requestId";
    /// <summary>The W3C trace id of <c>Activity.Current</c>, when there is an activity.</summary>
    public const string TraceId = "traceId";

    /// <summary>The W3C span id of <c>Activity.Current</c>: with <see cref="TraceId"/>, what the worker's store span links to.</summary>
    public const string SpanId = "spanId";
}
