using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Options;

namespace Hindsight.Server.Dashboard;

/// <summary>
/// The web dashboard's static files, embedded in this assembly (<c>wwwroot/</c>) and served without a key: the
/// dashboard is only a page; every call it makes to <c>/api</c> needs a key like any other client, or, when the API is
/// behind the host app's own policies, the app's sign-in (<c>/dashboard.json</c> tells the page which).
/// </summary>
public static class DashboardExtensions
{
    /// <summary>Serves the embedded dashboard at <c>/</c> (<c>index.html</c> by default).</summary>
    public static IApplicationBuilder UseHindsightDashboard(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        // How the page signs in: with an API key (a form), or with the host app's own sign-in when the API is behind
        // the app's policies. Says nothing else, so it needs no key.
        app.Use(async (http, next) =>
        {
            if (!HttpMethods.IsGet(http.Request.Method) || http.Request.Path != "/dashboard.json")
            {
                await next(http).ConfigureAwait(false);
                return;
            }
            var api = http.RequestServices.GetService<IOptions<HindsightApiOptions>>()?.Value;
            http.Response.Headers.CacheControl = "no-store";
            await http.Response.WriteAsJsonAsync(new { signIn = api is { UsesHostPolicies: true } ? "host" : "key" }).ConfigureAwait(false);
        });
        var files = new ManifestEmbeddedFileProvider(typeof(DashboardExtensions).Assembly, "wwwroot");
        app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = files });
        return app.UseStaticFiles(new StaticFileOptions { FileProvider = files });
    }
}
