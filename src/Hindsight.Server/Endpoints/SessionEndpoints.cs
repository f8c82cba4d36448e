using System.Security.Claims;
using Hindsight.Server.Auth;
using Hindsight.Server.Contracts;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Hindsight.Server.Endpoints;

/// <summary>
/// <c>GET /api/session</c>: which key is calling (name and scope), or which of the host app's users when the API is behind
/// the host's own policies (their scope: whether the admin policy admits them). Lets a client check a key without reading data, and
/// the dashboard decide whether to offer reverts; it grants nothing (reverts check the scope again).
/// </summary>
internal static class SessionEndpoints
{
    public static void Map(RouteGroupBuilder api) =>
        api.MapGet("/session", async (ClaimsPrincipal user, IAuthorizationService authorization) =>
                TypedResults.Ok(new SessionDto(ApiCaller.Name(user) ?? "", await ApiCaller.ScopeAsync(user, authorization).ConfigureAwait(false))))
            .WithName("session")
            .WithSummary("The calling key's name and scope (read or admin); never the key")
            .ProducesProblem(StatusCodes.Status401Unauthorized);
}
