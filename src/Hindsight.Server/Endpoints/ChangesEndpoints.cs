using System.ComponentModel;
using Hindsight.Query;
using Hindsight.Server.Contracts;
using Hindsight.Server.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;

namespace Hindsight.Server.Endpoints;

/// <summary><c>GET /api/changes</c>: one page of the stored changes that match a filter.</summary>
internal static class ChangesEndpoints
{
    /// <summary>The page size when none is asked for.</summary>
    public const int DefaultLimit = 100;

    public static void Map(RouteGroupBuilder api) =>
        api.MapGet("/changes", async ([AsParameters] FilterParameters filter,
                [Description("Changes per page (default 100; at most the server's page size, 1000 unless configured)")] string? limit,
                [Description("The next_cursor of the previous page")] string? cursor,
                [Description("newest (default) or oldest first")] string? order,
                HindsightBackend backend, IOptions<HindsightApiOptions> options, CancellationToken ct) =>
            {
                var page = new PageRequest
                {
                    Limit = QueryInput.Limit(limit, options.Value.MaxPageSize, DefaultLimit),
                    Cursor = QueryInput.Long(cursor, "cursor"),
                    OldestFirst = QueryInput.OldestFirst(order),
                };
                var result = await backend.Trail.QueryAsync(await filter.ToFilterAsync(backend, ct).ConfigureAwait(false), page, ct).ConfigureAwait(false);
                return TypedResults.Ok(new ChangePageDto(result.Changes.Select(ChangeDto.From).ToList(), result.NextCursor));
            })
            .WithName("listChanges")
            .WithSummary("Stored changes matching a filter, newest first, keyset-paginated")
            .ProducesProblem(StatusCodes.Status400BadRequest);
}
