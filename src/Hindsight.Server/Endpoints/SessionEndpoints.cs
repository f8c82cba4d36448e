using System.Security.Claims;
using Hindsight.Server.Auth;
using Hindsight.Server.Contracts;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Hindsight.Server.Endpoints;

/// <summary>
/// <c>GET /api/session</c>: which key is calling (name and scope). Lets a client check a key without reading data, and
/// the dashboard decide whether to offer reverts; it grants nothing (reverts check the scope again).
/// </summary>
internal static class SessionEndpoints
{
    public static void Map(RouteGroupBuilder api) =>
        api.MapGet("/session", (ClaimsPrincipal user) =>
                TypedResults.Ok(new SessionDto(
                    user.Identity?.Name ?? throw new InvalidOperationException("an authenticated key has a name"),
                    user.FindFirstValue(HindsightAuth.ScopeClaim) ?? throw new InvalidOperationException("an authenticated key has a scope"))))
            .WithName("session")
            .WithSummary("The calling key's name and scope (read or admin); never the key")
            .ProducesProblem(StatusCodes.Status401Unauthorized);
}
