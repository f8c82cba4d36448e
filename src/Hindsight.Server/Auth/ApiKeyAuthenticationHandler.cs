using System.Security.Claims;
using System.Text.Encodings.Web;
using Hindsight.Server.Http;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace Hindsight.Server.Auth;

/// <summary>Authenticates a request by its API key; answers 401 (with <c>WWW-Authenticate</c>) and 403 as problem details.</summary>
internal sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, ApiKeyStore keys)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    private const string Realm = "Bearer realm=\"hindsight\"";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var presented = PresentedKey(Request);
        if (presented is null) return Task.FromResult(AuthenticateResult.NoResult());
        if (keys.Find(presented) is not { } entry)
            return Task.FromResult(AuthenticateResult.Fail("the API key is not valid"));
        var identity = new ClaimsIdentity(
            [new Claim(ClaimTypes.Name, entry.Name), new Claim(HindsightAuth.ScopeClaim, entry.Scope.ToString().ToLowerInvariant())],
            HindsightAuth.Scheme, ClaimTypes.Name, null);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), HindsightAuth.Scheme)));
    }

    /// <summary>The key from <c>Authorization: Bearer KEY</c>, else from <c>X-Hindsight-Key</c>; never from the URL (URLs end up in logs).</summary>
    private static string? PresentedKey(HttpRequest request)
    {
        var authorization = request.Headers.Authorization.ToString();
        if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return authorization["Bearer ".Length..].Trim();
        var header = request.Headers[HindsightAuth.KeyHeader].ToString();
        return header.Length > 0 ? header.Trim() : null;
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var result = await HandleAuthenticateOnceSafeAsync().ConfigureAwait(false);
        var invalid = result.Failure is not null;
        Response.Headers[HeaderNames.WWWAuthenticate] = invalid ? Realm + ", error=\"invalid_token\"" : Realm;
        await ApiProblems.Write(Context, StatusCodes.Status401Unauthorized, "API key required",
            invalid
                ? "the API key is not valid"
                : $"send an API key as 'Authorization: Bearer <key>' or '{HindsightAuth.KeyHeader}: <key>' (hindsight serve --generate-key makes one)").ConfigureAwait(false);
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        ApiProblems.Write(Context, StatusCodes.Status403Forbidden, "Forbidden",
            "this API key may only read: reverting needs a key with scope admin");
}
