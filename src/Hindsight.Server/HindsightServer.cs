using Hindsight.Server.Dashboard;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Hindsight.Server;

/// <summary>
/// The standalone server of <c>hindsight serve</c>: Kestrel with the API, its OpenAPI document and the dashboard's
/// static files, bound to 127.0.0.1 unless told otherwise.
/// </summary>
internal static class HindsightServer
{
    /// <summary>Where <c>hindsight serve</c> listens by default: loopback only.</summary>
    public const string DefaultUrl = "http://127.0.0.1:8080";

    /// <summary>Builds the server (not started).</summary>
    /// <param name="configure">Sets the API's options (connections, keys, limits).</param>
    /// <param name="urls">Addresses to listen on (e.g. <c>http://127.0.0.1:0</c> for any free port); empty for <see cref="DefaultUrl"/>.</param>
    /// <param name="logging">Sets up logging; null for none.</param>
    public static WebApplication Build(Action<HindsightApiOptions> configure, IReadOnlyList<string> urls, Action<ILoggingBuilder>? logging = null)
    {
        ArgumentNullException.ThrowIfNull(configure);
        ArgumentNullException.ThrowIfNull(urls);
        // Content root at the program, not the current folder: no stray appsettings.json is read from where it is started.
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory, Args = [] });
        builder.WebHost.UseKestrelHttpsConfiguration(); // --urls https://… with a configured certificate
        builder.WebHost.ConfigureKestrel(k => k.AddServerHeader = false);
        builder.WebHost.UseUrls(urls.Count > 0 ? [.. urls] : [DefaultUrl]);
        builder.Logging.ClearProviders();
        logging?.Invoke(builder.Logging);
        builder.Services.AddHindsightApi(o =>
        {
            configure(o);
            o.SecurityHeadersOnEveryPath = true;
        });
        var app = builder.Build();
        app.UseHindsightDashboard();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapHindsightApi();
        return app;
    }

    /// <summary>The addresses a started server listens on (with the real port when it was 0).</summary>
    public static IReadOnlyList<string> Addresses(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        return app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.ToList() ?? [];
    }
}
