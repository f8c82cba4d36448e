using System.ComponentModel;
using Hindsight.Server.Contracts;
using Hindsight.Server.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;

namespace Hindsight.Server.Endpoints;

/// <summary><c>GET /api/as-of</c>: a table, or one row, as it was at a moment, with how complete that answer is.</summary>
internal static class AsOfEndpoints
{
    public static void Map(RouteGroupBuilder api) =>
        api.MapGet("/as-of", async (
                [Description("The table: table, schema.table or \"Quoted Name\"")] string? table,
                [Description("The moment (ISO 8601): changes committed at or before it count")] string? at,
                [Description("Only the row with this primary key")] string? key,
                [Description("Most rows to return (default and most: the server's page size)")] string? limit,
                [Description("The tracked database (default: the server's source database)")] string? database,
                HindsightBackend backend, IOptions<HindsightApiOptions> options, CancellationToken ct) =>
            {
                var name = QueryInput.Table(table);
                var moment = QueryInput.RequiredTime(at, "at");
                var max = QueryInput.Limit(limit, options.Value.MaxPageSize, options.Value.MaxPageSize);
                var result = await backend.Trail.AsOfAsync(name, moment, key, FilterParameters.ResolveDatabase(database, backend.Database), ct);
                if (key is not null && result.Rows.Count == 0)
                    throw new ApiNotFoundException($"{name} key {key} did not exist at {ApiTime.Format(moment)} as far as the store knows ({result.CompletenessNote})");
                return TypedResults.Ok(new AsOfDto(name.ToString(), ApiTime.Format(moment), result.Rows.Take(max).Select(AsOfRowDto.From).ToList(),
                    result.Rows.Count, result.Rows.Count > max, result.Complete, ApiTime.Format(result.TrackingSince), result.CompletenessNote));
            })
            .WithName("asOf")
            .WithSummary("A table, or one row, as it was at a moment (with a completeness note)")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);
}
