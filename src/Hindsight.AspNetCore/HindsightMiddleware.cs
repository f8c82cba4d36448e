using System.Diagnostics;
using System.Security.Claims;
using Hindsight.Context;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;

namespace Hindsight.AspNetCore;

/// <summary>Opens a <see cref="HindsightContext"/> scope for the rest of the request pipeline.</summary>
/// <remarks>
/// Reads the user and the matched endpoint when the request reaches it, so it belongs after
/// authentication and routing (WebApplication adds both at the start of the pipeline by itself;
/// with explicit <c>UseRouting</c>/<c>UseAuthentication</c>, call <c>UseHindsight</c> after them).
/// </remarks>
internal sealed class HindsightMiddleware(RequestDelegate next, IOptions<HindsightRequestOptions> options)
{
    public async Task InvokeAsync(HttpContext http)
    {
        using (HindsightContext.Push(Describe(http, options.Value)))
            await next(http).ConfigureAwait(false);
    }

    private static Dictionary<string, object?> Describe(HttpContext http, HindsightRequestOptions o)
    {
        var values = new Dictionary<string, object?>(StringComparer.Ordinal);
        if (o.IncludeUser && http.User.Identity is { IsAuthenticated: true } identity)
        {
            var id = http.User.FindFirstValue(ClaimTypes.NameIdentifier) ?? http.User.FindFirstValue("sub");
            if (id is not null) values[HindsightKeys.UserId] = id;
            if (identity.Name is { } name) values[HindsightKeys.UserName] = name;
        }
        values[HindsightKeys.Method] = http.Request.Method;
        if (http.GetEndpoint() is RouteEndpoint { RoutePattern.RawText: { } route }) values[HindsightKeys.Route] = route;
        if (o.IncludePath) values[HindsightKeys.Path] = (http.Request.PathBase + http.Request.Path).Value;
        values[HindsightKeys.RequestId] = http.TraceIdentifier;
        if (Activity.Current is { } activity && activity.IdFormat == ActivityIdFormat.W3C)
        {
            values[HindsightKeys.TraceId] = activity.TraceId.ToHexString();
            values[HindsightKeys.SpanId] = activity.SpanId.ToHexString();
        }
        o.Enrich?.Invoke(http, values);
        return values;
    }
}
