using System.Security.Claims;
using Microsoft.AspNetCore.Authorization;

namespace Hindsight.Server.Auth;

/// <summary>
/// Who calls the API: an API key (its name, and its scope claim), or, behind the host app's own policies, the app's
/// user (the NameIdentifier or <c>sub</c> claim, and the identity's name), whose scope is whether the admin policy
/// admits them.
/// </summary>
internal static class ApiCaller
{
    /// <summary>Whether the caller signed in with an API key.</summary>
    public static bool IsApiKey(ClaimsPrincipal user) => user.FindFirst(HindsightAuth.ScopeClaim) is not null;

    /// <summary>The host user's id, as the ASP.NET Core context middleware records it: NameIdentifier, else <c>sub</c>.</summary>
    public static string? UserId(ClaimsPrincipal user) => user.FindFirstValue(ClaimTypes.NameIdentifier) ?? user.FindFirstValue("sub");

    /// <summary>The name to show: the key's, or the user's name, else their id.</summary>
    public static string? Name(ClaimsPrincipal user) => user.Identity?.Name ?? UserId(user);

    /// <summary><c>admin</c> or <c>read</c>: the key's scope, or whether the admin policy admits the user.</summary>
    public static async Task<string> ScopeAsync(ClaimsPrincipal user, IAuthorizationService authorization) =>
        user.FindFirstValue(HindsightAuth.ScopeClaim)
        ?? ((await authorization.AuthorizeAsync(user, HindsightAuth.AdminPolicy).ConfigureAwait(false)).Succeeded ? "admin" : "read");
}
