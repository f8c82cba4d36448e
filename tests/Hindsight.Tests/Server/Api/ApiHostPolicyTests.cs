using System.Net;
using System.Net.Http.Headers;
using System.Security.Claims;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json.Nodes;
using Hindsight.Server;
using Hindsight.Server.Auth;
using Hindsight.Server.Dashboard;
using Hindsight.Tests.Infrastructure;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Xunit;

namespace Hindsight.Tests.Server.Api;

/// <summary>
/// The API behind the host app's own authentication and policies instead of API keys: who may read, who may revert,
/// what the session says, and whose name a revert's context carries (checked in the trail with SQL).
/// </summary>
[Collection(PostgresCollection.Name)]
[Trait("Category", "PostgreSQL")]
public sealed class ApiHostPolicyTests(PostgresFixture fixture)
{
    /// <summary>
    /// The host's own sign-in, for the test: a header <c>X-User: id|name|role,role</c>, or the same URL-encoded in a cookie
    /// <c>app-user</c> (a real app would use its cookie authentication, JWT or OpenID Connect).
    /// </summary>
    internal sealed class HeaderUserHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
        : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
    {
        public const string SchemeName = "AppUser";
        public const string Cookie = "app-user";

        protected override Task<AuthenticateResult> HandleAuthenticateAsync()
        {
            var header = Request.Headers["X-User"].FirstOrDefault()
                ?? (Request.Cookies.TryGetValue(Cookie, out var cookie) ? Uri.UnescapeDataString(cookie) : null);
            if (header is null) return Task.FromResult(AuthenticateResult.NoResult());
            var parts = header.Split('|');
            var claims = new List<Claim>();
            if (parts[0].Length > 0) claims.Add(new Claim(ClaimTypes.NameIdentifier, parts[0]));
            if (parts[1].Length > 0) claims.Add(new Claim(ClaimTypes.Name, parts[1]));
            claims.AddRange(parts[2].Split(',', StringSplitOptions.RemoveEmptyEntries).Select(r => new Claim(ClaimTypes.Role, r)));
            return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName)), SchemeName)));
        }
    }

    /// <summary>An app with its own sign-in and policies (Support reads, Ops also reverts), the API and the dashboard.</summary>
    /// <param name="h">The database.</param>
    /// <param name="readPolicy">The policy the API's options name for reading.</param>
    /// <param name="url">Kestrel at this address (for a browser); none: the in-memory test server.</param>
    internal static WebApplication Build(CaptureHarness h, string readPolicy = "Support", string? url = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        if (url is null) builder.WebHost.UseTestServer();
        else builder.WebHost.UseUrls(url);
        builder.Logging.ClearProviders();
        builder.Services.AddAuthentication(HeaderUserHandler.SchemeName).AddScheme<AuthenticationSchemeOptions, HeaderUserHandler>(HeaderUserHandler.SchemeName, null);
        builder.Services.AddHindsightApi(o =>
        {
            o.SourceConnectionString = h.ConnectionString;
            o.Slot = h.Slot;
            o.Publication = h.Slot;
            o.ReadPolicy = readPolicy;
            o.AdminPolicy = "Ops";
        });
        // The app's own policies, registered after the API's (as an app may well do).
        builder.Services.AddAuthorizationBuilder()
            .AddPolicy("Support", p => p.AddAuthenticationSchemes(HeaderUserHandler.SchemeName).RequireRole("support", "ops"))
            .AddPolicy("Ops", p => p.AddAuthenticationSchemes(HeaderUserHandler.SchemeName).RequireRole("ops"));
        var app = builder.Build();
        app.UseHindsightDashboard();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapHindsightApi();
        return app;
    }

    private static HttpRequestMessage Request(HttpMethod method, string path, string? user, string? json = null)
    {
        var request = new HttpRequestMessage(method, path);
        if (user is not null) request.Headers.Add("X-User", user);
        if (json is not null) request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        return request;
    }

    [Fact]
    public async Task The_host_s_policies_decide_who_reads_and_who_reverts_and_the_revert_names_the_user()
    {
        await using var h = await CaptureHarness.CreateAsync(fixture, ApiServer.Schema);
        h.StartWorker();
        await h.ExecuteAsync(
            """
            BEGIN; SELECT pg_logical_emit_message(true, 'hindsight', '{"userId":"alice"}');
            INSERT INTO orders VALUES (1, 'new', 10), (2, 'new', 20); COMMIT;
            BEGIN; SELECT pg_logical_emit_message(true, 'hindsight', '{"userId":"bob"}');
            UPDATE orders SET status = 'paid' WHERE id = 1; DELETE FROM orders WHERE id = 2; COMMIT;
            """);
        await h.CatchUpAsync();
        var before = await h.ScalarAsync<string>(
            "SELECT jsonb_agg(after ORDER BY (after->>'id')::int)::text FROM hindsight.changes WHERE operation = 'CREATE'");
        var xid = await h.ScalarAsync<long>("SELECT transaction_id FROM hindsight.changes WHERE operation = 'DELETE'");

        await using var app = Build(h);
        await app.StartAsync();
        using var http = app.GetTestClient();
        async Task<(HttpStatusCode Status, JsonNode? Body)> Send(HttpMethod method, string path, string? user, string? json = null)
        {
            using var response = await http.SendAsync(Request(method, path, user, json));
            var text = await response.Content.ReadAsStringAsync();
            return (response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text));
        }
        const string Support = "u-7|Sam|support", Ops = "u-42|Olga|ops", Nobody = "u-9|Nina|";

        Assert.Equal(HttpStatusCode.Unauthorized, (await Send(HttpMethod.Get, "/api/changes", null)).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await Send(HttpMethod.Get, "/api/changes", Nobody)).Status);
        // An API key means nothing here: the host's policies stand in for keys.
        var key = ApiKeys.Generate("ops-admin", ApiKeyScope.Admin);
        using (var keyed = new HttpRequestMessage(HttpMethod.Get, "/api/changes"))
        {
            keyed.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key.Key);
            Assert.Equal(HttpStatusCode.Unauthorized, (await http.SendAsync(keyed)).StatusCode);
        }

        var (status, changes) = await Send(HttpMethod.Get, "/api/changes", Support);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(4, changes!["changes"]!.AsArray().Count);
        var session = (await Send(HttpMethod.Get, "/api/session", Support)).Body!;
        Assert.Equal(("Sam", "read"), ((string)session["name"]!, (string)session["scope"]!));
        Assert.Equal(HttpStatusCode.Forbidden, (await Send(HttpMethod.Post, "/api/revert", Support, $$"""{"transaction": {{xid}}}""")).Status);
        Assert.Equal("admin", (string)(await Send(HttpMethod.Get, "/api/session", Ops)).Body!["scope"]!);

        // Olga reverts bob's transaction; her context cannot claim another user or a key.
        var (reverted, result) = await Send(HttpMethod.Post, "/api/revert", Ops,
            $$$"""{"transaction": {{{xid}}}, "context": {"reason": "ticket 42", "userId": "someone-else", "apiKey": "ops-admin"}}""");
        Assert.Equal(HttpStatusCode.OK, reverted);
        Assert.True((bool)result!["applied"]!);
        Assert.Equal(before, await h.ScalarAsync<string>("SELECT jsonb_agg(to_jsonb(o) ORDER BY id)::text FROM orders o"));
        await h.CatchUpAsync();
        var context = JsonNode.Parse(await h.ScalarAsync<string>(
            "SELECT context::text FROM hindsight.changes WHERE context ? 'hindsight' ORDER BY id DESC LIMIT 1"))!.AsObject();
        Assert.Equal("u-42", (string)context["userId"]!);
        Assert.Equal("Olga", (string)context["userName"]!);
        Assert.Equal("ticket 42", (string)context["reason"]!);
        Assert.False(context.ContainsKey("apiKey"));
        // Found as Olga's, like her other changes would be.
        var hers = (await Send(HttpMethod.Get, "/api/changes?context=" + Uri.EscapeDataString("""{"userId":"u-42"}"""), Support)).Body!;
        Assert.Equal(2, hers["changes"]!.AsArray().Count);

        // A user the host signs in without a name or an id may read, but no revert can name them.
        const string Anonymous = "||ops";
        Assert.Equal(HttpStatusCode.OK, (await Send(HttpMethod.Get, "/api/changes", Anonymous)).Status);
        var (refused, problem) = await Send(HttpMethod.Post, "/api/revert", Anonymous, $$"""{"change": 1}""");
        Assert.Equal(HttpStatusCode.Forbidden, refused);
        Assert.Contains("must name who made it", (string)problem!["detail"]!, StringComparison.Ordinal);
        await app.StopAsync();
    }

    [Fact]
    public async Task A_policy_the_app_never_registered_stops_the_start_with_its_name()
    {
        await using var h = await CaptureHarness.CreateWithoutSetupAsync(fixture, "CREATE TABLE t (id int PRIMARY KEY);");
        await using var app = Build(h, readPolicy: "Suport");
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => app.StartAsync());
        Assert.Contains("ReadPolicy names the policy 'Suport', which the app has not registered", e.Message, StringComparison.Ordinal);
    }
}
