using Hindsight.AspNetCore;
using Hindsight.EntityFrameworkCore;
using Microsoft.AspNetCore.Authentication;
using Microsoft.EntityFrameworkCore;

namespace Hindsight.Samples.Shop;

/// <summary>Builds the shop: EF Core with <c>UseHindsight()</c>, and the Hindsight middleware after routing and sign-in.</summary>
public static class ShopApp
{
    /// <summary>The header whose value the app adds to the context as <c>tenant</c> (the middleware's enrich callback).</summary>
    public const string TenantHeader = "X-Tenant";

    /// <summary>Creates the application on <paramref name="connectionString"/>; <paramref name="configure"/> adjusts the builder (URLs, logging).</summary>
    public static WebApplication Build(string connectionString, string[]? args = null, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args ?? []);
        builder.Services.AddDbContextPool<ShopDb>(o => o.UseNpgsql(connectionString).UseHindsight().UseHindsightTemporal());
        builder.Services.AddAuthentication(DemoUserAuthentication.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, DemoUserAuthentication>(DemoUserAuthentication.SchemeName, null);
        builder.Services.AddAuthorization();
        configure?.Invoke(builder);

        var app = builder.Build();
        app.UseRouting();
        app.UseAuthentication();
        // After routing and authentication: the context gets the route template and the signed-in user.
        app.UseHindsight(o => o.Enrich = (http, context) =>
        {
            if (http.Request.Headers.TryGetValue(TenantHeader, out var tenant)) context["tenant"] = tenant.ToString();
        });
        app.MapShop();
        return app;
    }

    /// <summary>Creates the shop's tables (a real app would use migrations).</summary>
    public static async Task CreateSchemaAsync(WebApplication app, CancellationToken ct = default)
    {
        await using var scope = app.Services.CreateAsyncScope();
        await scope.ServiceProvider.GetRequiredService<ShopDb>().Database.EnsureCreatedAsync(ct);
    }
}
