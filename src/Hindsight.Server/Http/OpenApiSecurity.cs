using Hindsight.Server.Auth;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Hindsight.Server.Http;

/// <summary>Describes the API key (a bearer token) in the OpenAPI document, as required by every operation.</summary>
internal sealed class OpenApiSecurity : IOpenApiDocumentTransformer
{
    private const string SchemeId = "apiKey";

    public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        document.Info.Title = "Hindsight API";
        document.Info.Description =
            "The audit trail of a PostgreSQL database: changes, row history, as-of, revert, trends, health, a live stream, and each change against its tamper-evident chain. " +
            $"Every call needs an API key: 'Authorization: Bearer <key>' (or '{HindsightAuth.KeyHeader}: <key>'). " +
            "Change objects use the store's column names (snake_case); so does every other field.";
        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
        document.Components.SecuritySchemes[SchemeId] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "bearer",
            Description = $"An API key made by 'hindsight serve --generate-key read|admin'; also accepted as the {HindsightAuth.KeyHeader} header.",
        };
        document.Security ??= [];
        document.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(SchemeId, document)] = [] });
        return Task.CompletedTask;
    }
}
