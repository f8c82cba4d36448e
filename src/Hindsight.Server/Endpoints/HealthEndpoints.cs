using Hindsight.Server.Contracts;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Hindsight.Server.Endpoints;

/// <summary><c>GET /api/health</c>: the figures of <c>hindsight status</c>; 200 when healthy, 503 when not.</summary>
internal static class HealthEndpoints
{
    public static void Map(RouteGroupBuilder api) =>
        api.MapGet("/health", async (HindsightBackend backend, CancellationToken ct) =>
            {
                var report = await backend.Status.ReadAsync(ct).ConfigureAwait(false);
                return TypedResults.Json(HealthDto.From(report),
                    statusCode: report.Healthy ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
            })
            .WithName("health")
            .WithSummary("Slot, lag, last stored position, store version; 200 healthy, 503 unhealthy")
            .Produces<HealthDto>(StatusCodes.Status200OK)
            .Produces<HealthDto>(StatusCodes.Status503ServiceUnavailable);
}
