using Hindsight.Server.Auth;
using Hindsight.Server.Endpoints;
using Hindsight.Server.Http;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Hindsight.Server;

/// <summary>Hosting the Hindsight HTTP API in an ASP.NET Core app: <c>services.AddHindsightApi(…)</c>, then <c>app.MapHindsightApi()</c>.</summary>
public static class HindsightApiExtensions
{
    /// <summary>Where the API's endpoints live.</summary>
    public const string ApiPrefix = "/api";

    /// <summary>Where the OpenAPI document lives (<c>/openapi/v1.json</c>).</summary>
    public const string OpenApiPrefix = "/openapi";

    /// <summary>The OpenAPI document's name.</summary>
    public const string OpenApiDocument = "v1";

    /// <summary>
    /// Registers the API with its options bound from <paramref name="configuration"/> (usually
    /// <c>configuration.GetSection("Hindsight:Api")</c>): the properties of <see cref="HindsightApiOptions"/>, and
    /// <c>ApiKeys</c>, a list of key entry lines (<c>name:scope:sha256:HEX</c>, as <c>hindsight serve --generate-key</c>
    /// prints them). Checked when the host starts: an unknown key, a value of the wrong type or a bad key line stops it
    /// with the key's name.
    /// </summary>
    /// <param name="services">The app's services.</param>
    /// <param name="configuration">The section holding the options.</param>
    /// <returns><paramref name="services"/>.</returns>
    public static IServiceCollection AddHindsightApi(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var path = configuration is IConfigurationSection section ? section.Path + ":" : "";
        return services.AddHindsightApi(o =>
        {
            var known = typeof(HindsightApiOptions).GetProperties().Where(p => p.CanWrite).Select(p => p.Name).Append(ApiKeysSetting);
            if (configuration.GetChildren().FirstOrDefault(c => !known.Contains(c.Key, StringComparer.OrdinalIgnoreCase)) is { } unknown)
                throw new ArgumentException($"unknown setting {path}{unknown.Key} for the Hindsight API");
            configuration.Bind(o);
            foreach (var line in configuration.GetSection(ApiKeysSetting).GetChildren())
            {
                try { o.Keys.Add(ApiKeyEntry.Parse(line.Value ?? "")); }
                catch (FormatException e) { throw new ArgumentException($"{path}{ApiKeysSetting}:{line.Key}: {e.Message}", e); }
            }
        });
    }

    /// <summary>The configuration key of <see cref="AddHindsightApi(IServiceCollection, IConfiguration)"/> that lists API key entries.</summary>
    public const string ApiKeysSetting = "ApiKeys";

    /// <summary>
    /// Registers the API: its options, the API-key authentication scheme and the read/admin policies, problem details,
    /// the OpenAPI document, and security headers on the API's answers. Sets no default authentication scheme and no
    /// global JSON option, so the host app's own endpoints are unaffected.
    /// </summary>
    public static IServiceCollection AddHindsightApi(this IServiceCollection services, Action<HindsightApiOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<HindsightApiOptions>()
            .Configure(configure)
            .Validate(o => { o.Validate(); return true; })
            .ValidateOnStart();
        services.AddSingleton(sp => new HindsightBackend(sp.GetRequiredService<IOptions<HindsightApiOptions>>().Value));
        services.AddSingleton(sp => new ApiKeyStore(sp.GetRequiredService<IOptions<HindsightApiOptions>>().Value.Keys.ToList()));
        services.AddSingleton<StreamGate>();

        services.AddAuthentication().AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(HindsightAuth.Scheme, null);
        services.AddAuthorizationBuilder()
            .AddPolicy(HindsightAuth.ReadPolicy, p => p.AddAuthenticationSchemes(HindsightAuth.Scheme).RequireAuthenticatedUser()
                .RequireClaim(HindsightAuth.ScopeClaim, "read", "admin"))
            .AddPolicy(HindsightAuth.AdminPolicy, p => p.AddAuthenticationSchemes(HindsightAuth.Scheme).RequireAuthenticatedUser()
                .RequireClaim(HindsightAuth.ScopeClaim, "admin"));
        // The host's own policies, when the options name them, stand in for the API-key policies under the API's policy
        // names. After every Configure, so a host that adds its policies after this call is seen.
        services.AddOptions<AuthorizationOptions>().PostConfigure<IOptions<HindsightApiOptions>>((auth, api) =>
        {
            if (!api.Value.UsesHostPolicies) return;
            auth.AddPolicy(HindsightAuth.ReadPolicy, HostPolicy(auth, api.Value.ReadPolicy!, nameof(HindsightApiOptions.ReadPolicy)));
            auth.AddPolicy(HindsightAuth.AdminPolicy, HostPolicy(auth, api.Value.AdminPolicy!, nameof(HindsightApiOptions.AdminPolicy)));
        }).ValidateOnStart(); // a policy name the app never registered stops the start, not the first request
        services.AddProblemDetails();
        services.AddOpenApi(OpenApiDocument, o => o.AddDocumentTransformer<OpenApiSecurity>());
        services.AddSingleton<IStartupFilter>(sp =>
            new SecurityHeadersStartupFilter(sp.GetRequiredService<IOptions<HindsightApiOptions>>().Value.SecurityHeadersOnEveryPath
                ? _ => true
                : SecurityHeaders.IsApi));
        return services;
    }

    private static AuthorizationPolicy HostPolicy(AuthorizationOptions auth, string name, string setting) =>
        auth.GetPolicy(name) ?? throw new InvalidOperationException(
            $"HindsightApiOptions.{setting} names the policy '{name}', which the app has not registered (services.AddAuthorization(o => o.AddPolicy(\"{name}\", …)))");

    /// <summary>
    /// Maps the API under <c>/api</c> and its OpenAPI document at <c>/openapi/v1.json</c>, all behind an API key (the
    /// document too: it is part of the API, and "every route needs a key" is a rule without exceptions to get wrong).
    /// </summary>
    /// <returns>The <c>/api</c> group, for further conventions.</returns>
    public static RouteGroupBuilder MapHindsightApi(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var api = endpoints.MapGroup(ApiPrefix)
            .RequireAuthorization(HindsightAuth.ReadPolicy)
            .AddEndpointFilter<ApiErrorFilter>()
            .WithTags("hindsight");
        ChangesEndpoints.Map(api);
        StreamEndpoints.Map(api);
        ChainEndpoints.Map(api);
        HistoryEndpoints.Map(api);
        SchemaChangeEndpoints.Map(api);
        AsOfEndpoints.Map(api);
        RevertEndpoints.Map(api);
        TrendsEndpoints.Map(api);
        RetentionEndpoints.Map(api);
        HealthEndpoints.Map(api);
        SessionEndpoints.Map(api);
        // Anything else under /api is a 404 problem (for a valid key), not the host app's fallback.
        api.Map("/{**rest}", (HttpRequest request) => ApiProblems.NotFound($"no such endpoint: {request.Method} {request.Path}"))
            .ExcludeFromDescription();
        endpoints.MapOpenApi(OpenApiPrefix + "/{documentName}.json").RequireAuthorization(HindsightAuth.ReadPolicy);
        return api;
    }
}
