using System.ComponentModel;
using Hindsight.Server.Contracts;
using Hindsight.Server.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;

namespace Hindsight.Server.Endpoints;

/// <summary><c>GET /api/history</c>: every version of one row, newest first, each with its column diff, and the schema
/// changes of its table over the same span.</summary>
internal static class HistoryEndpoints
{
    public static void Map(RouteGroupBuilder api) =>
        api.MapGet("/history", async ([AsParameters] TableParameters read,
                [Description("The row's primary key as stored; a composite key as a JSON array")] string? key,
                [Description("newest (default) or oldest first")] string? order,
                HindsightBackend backend, IOptions<HindsightApiOptions> options, CancellationToken ct) =>
            {
                var (name, max) = read.Read(options.Value);
                var primaryKey = QueryInput.Required(key, "key");
                var newestFirst = !QueryInput.OldestFirst(order);
                // Only the asked end of the row's history is read: a row changed millions of times costs one page.
                var (src, db) = await read.ScopeAsync(backend, ct).ConfigureAwait(false);
                var history = await backend.Trail.HistoryAsync(name, primaryKey, max, newestFirst, db, src, ct).ConfigureAwait(false);
                if (history.Versions.Count == 0 && !history.HasMore)
                    throw new ApiNotFoundException($"no stored changes of {name} key {primaryKey}");
                var (schemaChanges, schemaChangesTruncated) =
                    await HistorySchemaChanges.ReadAsync(backend, history, newestFirst, max, ct).ConfigureAwait(false);
                return TypedResults.Ok(new RecordHistoryDto(name.ToString(), primaryKey,
                    history.Versions.Select(RecordVersionDto.From).ToList(), history.HasMore)
                {
                    SchemaChanges = schemaChanges,
                    SchemaChangesTruncated = schemaChangesTruncated,
                });
            })
            .WithName("rowHistory")
            .WithSummary("Every version of one row, newest first, with column diffs and the schema changes of its table meanwhile")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);
}
