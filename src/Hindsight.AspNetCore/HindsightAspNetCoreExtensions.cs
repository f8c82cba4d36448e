using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Hindsight.AspNetCore;

/// <summary>ASP.NET Core registration of the Hindsight request context.</summary>
public static class HindsightAspNetCoreExtensions
{
    /// <summary>Configures the per-request context (optional: <see cref="UseHindsight"/> works without it).</summary>
    public static IServiceCollection AddHindsight(this IServiceCollection services, Action<HindsightRequestOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var builder = services.AddOptions<HindsightRequestOptions>();
        if (configure is not null) builder.Configure(configure);
        return services;
    }

    /// <summary>
    /// Opens a <see cref="Hindsight.Context.HindsightContext"/> scope per request with the keys in <see cref="HindsightKeys"/>,
    /// so every write made while handling the request (through Hindsight.EntityFrameworkCore or the Npgsql helpers) carries it.
    /// Place it after <c>UseRouting</c> and <c>UseAuthentication</c> when you call those explicitly.
    /// </summary>
    /// <param name="app">The application.</param>
    /// <param name="configure">Optional options, applied after those given to <see cref="AddHindsight"/>.</param>
    public static IApplicationBuilder UseHindsight(this IApplicationBuilder app, Action<HindsightRequestOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(app);
        var registered = app.ApplicationServices.GetService<Microsoft.Extensions.Options.IOptions<HindsightRequestOptions>>()?.Value;
        // A copy: options given here must not change the registered instance other pipelines share.
        var options = new HindsightRequestOptions();
        if (registered is not null)
        {
            options.IncludeUser = registered.IncludeUser;
            options.IncludePath = registered.IncludePath;
            options.Enrich = registered.Enrich;
        }
        configure?.Invoke(options);
        return app.UseMiddleware<HindsightMiddleware>(Microsoft.Extensions.Options.Options.Create(options));
    }
}
