using System.ComponentModel;
using Hindsight.Query;
using Hindsight.Server.Contracts;
using Hindsight.Server.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Hindsight.Server.Endpoints;

/// <summary><c>GET /api/trends</c>: counts of changes per time bucket, by table, operation, source or a context key.</summary>
internal static class TrendsEndpoints
{
    /// <summary>Most points one answer carries: beyond, the range is too long for the bucket (a year of minutes).</summary>
    public const int MaxPoints = 10_000;

    public static void Map(RouteGroupBuilder api) =>
        api.MapGet("/trends", async ([AsParameters] FilterParameters filter,
                [Description("minute, hour (default), day or week (UTC)")] string? bucket,
                [Description("table (default), operation, source or context:KEY")] string? by,
                HindsightBackend backend, CancellationToken ct) =>
            {
                var width = TrendBucketParser.Parse(bucket ?? "hour");
                var grouping = TrendGrouping.Parse(by ?? "table");
                var points = await backend.Trends.CountAsync(await filter.ToFilterAsync(backend, ct).ConfigureAwait(false), width, grouping, ct).ConfigureAwait(false);
                if (points.Count > MaxPoints)
                    throw new ApiInputException($"{points.Count} points are more than {MaxPoints} in one answer: narrow since/until, or use a wider bucket");
                return TypedResults.Ok(new TrendsDto(width.ToString().ToLowerInvariant(), by ?? "table",
                    points.Select(p => new TrendPointDto(ApiTime.Format(p.Bucket), p.Group, p.Count)).ToList()));
            })
            .WithName("trends")
            .WithSummary("Counts of changes per time bucket and table, operation, source or context key")
            .ProducesProblem(StatusCodes.Status400BadRequest);
}
