using Hindsight.Server.Contracts;
using Hindsight.Server.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;

namespace Hindsight.Server.Endpoints;

/// <summary><c>GET /api/schema-changes</c>: what migrations did to tracked tables, newest first, each with its statement,
/// context and effects.</summary>
internal static class SchemaChangeEndpoints
{
    public static void Map(RouteGroupBuilder api) =>
        api.MapGet("/schema-changes", async ([AsParameters] SchemaChangeParameters read,
                HindsightBackend backend, IOptions<HindsightApiOptions> options, CancellationToken ct) =>
            {
                var filter = await read.ToFilterAsync(backend, options.Value, ct).ConfigureAwait(false);
                var changes = await backend.Trail.SchemaChangesAsync(filter, ct).ConfigureAwait(false);
                return TypedResults.Ok(new SchemaChangeListDto(changes.Select(SchemaChangeDto.From).ToList()));
            })
            .WithName("listSchemaChanges")
            .WithSummary("Schema changes of tracked tables (CREATE, ALTER, DROP), newest first, with statement, context and effects")
            .ProducesProblem(StatusCodes.Status400BadRequest);
}
