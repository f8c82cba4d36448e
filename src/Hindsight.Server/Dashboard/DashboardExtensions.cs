using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.FileProviders;

namespace Hindsight.Server.Dashboard;

/// <summary>
/// The web dashboard's static files, embedded in this assembly (<c>wwwroot/</c>) and served without a key: the
/// dashboard is only a page; every call it makes to <c>/api</c> needs a key like any other client.
/// </summary>
public static class DashboardExtensions
{
    /// <summary>Serves the embedded dashboard at <c>/</c> (<c>index.html</c> by default).</summary>
    public static IApplicationBuilder UseHindsightDashboard(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var files = new ManifestEmbeddedFileProvider(typeof(DashboardExtensions).Assembly, "wwwroot");
        app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = files });
        return app.UseStaticFiles(new StaticFileOptions { FileProvider = files });
    }
}
