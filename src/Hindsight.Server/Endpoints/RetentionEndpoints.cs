using Hindsight.Server.Contracts;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Hindsight.Server.Endpoints;

/// <summary><c>GET /api/retention</c>: the legal holds in place and the retention policies (placed and set with the CLI).</summary>
internal static class RetentionEndpoints
{
    public static void Map(RouteGroupBuilder api) =>
        api.MapGet("/retention", async (HindsightBackend backend, CancellationToken ct) =>
            {
                var holds = await backend.Retention.HoldsAsync(ct).ConfigureAwait(false);
                var policies = await backend.Retention.PoliciesAsync(ct).ConfigureAwait(false);
                return TypedResults.Ok(new RetentionDto(
                    holds.Select(h => new LegalHoldDto(h.Id, h.Source, h.Schema, h.Table, h.PrimaryKey, h.Context, h.Reason, ApiTime.Format(h.CreatedAt), h.CreatedBy)).ToList(),
                    policies.Select(p => new RetentionPolicyDto(p.Schema, p.Table, (long)p.Keep.TotalSeconds, ApiTime.Format(p.CreatedAt), p.CreatedBy)).ToList()));
            })
            .WithName("retention")
            .WithSummary("The legal holds in place (changes never pruned) and the retention policies the worker applies");
}
