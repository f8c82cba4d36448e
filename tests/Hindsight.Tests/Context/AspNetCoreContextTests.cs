using System.Diagnostics;
using System.Security.Claims;
using System.Text.Encodings.Web;
using Hindsight.AspNetCore;
using Hindsight.EntityFrameworkCore;
using Hindsight.Tests.Infrastructure;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Xunit;

namespace Hindsight.Tests.Context;

/// <summary>The middleware with a minimal API writing through a pooled EF Core context, under concurrency.</summary>
[Collection(PostgresCollection.Name)]
[Trait("Category", "PostgreSQL")]
public sealed class AspNetCoreContextTests(PostgresFixture fixture)
{
    /// <summary>Authenticates every request as the user named in the X-User header.</summary>
    private sealed class HeaderAuthentication(IOptionsMonitor<AuthenticationSchemeOptions> o, ILoggerFactory l, UrlEncoder e)
        : AuthenticationHandler<AuthenticationSchemeOptions>(o, l, e)
    {
        protected override Task<AuthenticateResult> HandleAuthenticateAsync()
        {
            if (Request.Headers["X-User"].ToString() is not { Length: > 0 } user) return Task.FromResult(AuthenticateResult.NoResult());
            var identity = new ClaimsIdentity([new Claim(ClaimTypes.NameIdentifier, user), new Claim(ClaimTypes.Name, "name of " + user)], "test");
            return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), "test")));
        }
    }

    [Fact]
    public async Task Context_100_concurrent_requests_each_store_exactly_their_own_user_and_request()
    {
        await using var h = await CaptureHarness.CreateAsync(fixture, ShopDb.Sql);
        h.StartWorker();
        // Hosting starts a request Activity (and so a W3C trace id) only when someone listens.
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "Microsoft.AspNetCore",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
        };
        ActivitySource.AddActivityListener(listener);

        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        builder.Services.AddAuthentication("test").AddScheme<AuthenticationSchemeOptions, HeaderAuthentication>("test", null);
        builder.Services.AddAuthorization();
        builder.Services.AddDbContextPool<ShopDb>(o => o.UseNpgsql(h.ConnectionString).UseHindsight(), poolSize: 8);
        builder.Services.AddControllers().AddApplicationPart(typeof(ItemsController).Assembly);
        builder.Services.AddHindsight(o => o.Enrich = (http, values) => values["tenant"] = http.Request.Headers["X-Tenant"].ToString());
        await using var app = builder.Build();
        app.UseHindsight();
        app.MapPost("/items/{name}", async (string name, ShopDb db, HttpContext http) =>
        {
            db.Items.Add(new Item { Name = name, Owner = http.User.FindFirstValue(ClaimTypes.NameIdentifier), RequestId = http.TraceIdentifier });
            await db.SaveChangesAsync();
            await Task.Yield(); // interleave the requests between the two writes
            await db.Items.Where(i => i.Name == name).ExecuteUpdateAsync(s => s.SetProperty(i => i.Qty, 1));
            return Results.Ok();
        });
        app.MapControllers();
        await app.StartAsync();
        var client = app.GetTestClient();

        var responses = await Task.WhenAll(Enumerable.Range(0, 100).Select(async i =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, $"/items/n{i}");
            request.Headers.Add("X-User", $"user{i}");
            request.Headers.Add("X-Tenant", $"tenant{i % 7}");
            return (await client.SendAsync(request)).StatusCode;
        }));
        Assert.All(responses, s => Assert.Equal(System.Net.HttpStatusCode.OK, s));
        await h.CatchUpAsync();

        // Each stored change against what the request itself saw (the row's owner and request_id columns).
        var mismatches = await h.RowsAsync(
            """
            SELECT c.operation, c.after->>'name', c.context::text FROM hindsight.changes c
            WHERE c."table" = 'items' AND NOT coalesce(
                c.context->>'userId' = c.after->>'owner'
                AND c.context->>'userName' = 'name of ' || (c.after->>'owner')
                AND c.context->>'requestId' = c.after->>'request_id'
                AND c.context->>'tenant' = 'tenant' || (substr(c.after->>'name', 2)::int % 7)
                AND c.context->>'method' = 'POST' AND c.context->>'route' = '/items/{name}'
                AND c.context->>'path' = '/items/' || (c.after->>'name')
                AND c.context->>'traceId' ~ '^[0-9a-f]{32}$', false)
            """);
        Assert.Empty(mismatches.Select(m => string.Join(" | ", m)));
        Assert.Equal(200, await h.ScalarAsync<long>("""SELECT count(*) FROM hindsight.changes WHERE "table" = 'items'"""));
        Assert.Equal(100, await h.ScalarAsync<long>("""SELECT count(DISTINCT context->>'requestId') FROM hindsight.changes WHERE "table" = 'items'"""));
        Assert.Equal(100, await h.ScalarAsync<long>("""SELECT count(DISTINCT context->>'userId') FROM hindsight.changes WHERE "table" = 'items'"""));
        Assert.Equal(100, await h.ScalarAsync<long>("""SELECT count(DISTINCT context->>'traceId') FROM hindsight.changes WHERE "table" = 'items'"""));

        // A controller action (attribute route) and an anonymous request: route template, no user keys.
        Assert.Equal(System.Net.HttpStatusCode.NoContent, (await client.PutAsync("/api/items/c1", null)).StatusCode);
        await h.CatchUpAsync();
        var stored = await h.RowsAsync(
            """SELECT context->>'route', context->>'method', context ? 'userId', context->>'path' FROM hindsight.changes WHERE after->>'name' = 'c1'""");
        Assert.Equal(["api/items/{name}", "PUT", "False", "/api/items/c1"], Assert.Single(stored));
        await app.StopAsync();
    }
}
