using Microsoft.AspNetCore.Http;

namespace Hindsight.Server.Http;

/// <summary>
/// Security headers for the API and the dashboard: no MIME sniffing, a content security policy for a same-origin
/// dashboard (its own scripts, styles and API calls only; never framed), no referrer, and no caching of API answers
/// (they carry audit data).
/// </summary>
internal sealed class SecurityHeaders(RequestDelegate next, Func<PathString, bool> applies)
{
    /// <summary>The dashboard may load only its own files and call only its own origin.</summary>
    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    public Task InvokeAsync(HttpContext context)
    {
        var path = context.Request.Path;
        if (applies(path))
        {
            // Set before anything is written, including the 401 that authentication answers without reaching an endpoint.
            var h = context.Response.Headers;
            h.XContentTypeOptions = "nosniff";
            h.ContentSecurityPolicy = ContentSecurityPolicy;
            h.XFrameOptions = "DENY";
            h["Referrer-Policy"] = "no-referrer";
            h["Cross-Origin-Opener-Policy"] = "same-origin";
            h["Cross-Origin-Resource-Policy"] = "same-origin";
            if (IsApi(path))
            {
                h.CacheControl = "no-store";
                h.Pragma = "no-cache";
            }
        }
        return next(context);
    }

    /// <summary>Paths whose answers are data (never cached): the API and the OpenAPI document.</summary>
    internal static bool IsApi(PathString path) =>
        path.StartsWithSegments(HindsightApiExtensions.ApiPrefix) || path.StartsWithSegments(HindsightApiExtensions.OpenApiPrefix);
}
