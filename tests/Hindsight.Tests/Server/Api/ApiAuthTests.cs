using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Hindsight.Tests.Infrastructure;
using Xunit;

namespace Hindsight.Tests.Server.Api;

/// <summary>Access control over real HTTP: 401 without a valid key, 403 for a read key on revert, security headers, no CORS.</summary>
[Collection(PostgresCollection.Name)]
[Trait("Category", "PostgreSQL")]
public sealed class ApiAuthTests(PostgresFixture fixture)
{
    private static readonly string[] Protected =
    [
        "/api/changes", "/api/history?table=orders&key=1", "/api/as-of?table=orders&at=2030-01-01", "/api/trends", "/api/health",
        "/api/changes/stream", "/api/session", "/api/schema-changes", "/api/no-such-thing", "/openapi/v1.json",
        "/api/changes/1/verification", "/api/changes/1/proof", "/api/checkpoints/latest",
    ];

    [Fact]
    public async Task Api_without_a_key_or_with_a_wrong_one_is_401_with_a_bearer_challenge_and_a_problem()
    {
        await using var s = await ApiServer.StartAsync(fixture);
        foreach (var path in Protected)
        {
            using var none = await s.Client(null).GetAsync(path);
            Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
            Assert.Equal("Bearer realm=\"hindsight\"", none.Headers.WwwAuthenticate.ToString());
            Assert.Equal("application/problem+json", none.Content.Headers.ContentType?.MediaType);
            Assert.Contains("Authorization: Bearer", await none.Content.ReadAsStringAsync(), StringComparison.Ordinal);

            using var wrong = await s.Client(s.ReadKey + "x").GetAsync(path);
            Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
            Assert.Contains("invalid_token", wrong.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        }
        // Not an API key at all, and a key in the URL (which would end up in logs): both refused.
        var basic = s.Client(null);
        basic.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("a:b")));
        Assert.Equal(HttpStatusCode.Unauthorized, (await basic.GetAsync("/api/changes")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await s.Client(null).GetAsync($"/api/changes?key={s.ReadKey}&api_key={s.ReadKey}")).StatusCode);
        var empty = s.Client(null);
        empty.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", "Bearer ");
        Assert.Equal(HttpStatusCode.Unauthorized, (await empty.GetAsync("/api/changes")).StatusCode);
    }

    [Fact]
    public async Task Api_a_read_key_reads_by_bearer_or_header_and_is_refused_revert_with_403()
    {
        await using var s = await ApiServer.StartAsync(fixture);
        await s.SeedAsync();
        Assert.Equal(200, (await s.GetAsync("/api/changes")).Status);
        var viaHeader = s.Client(null);
        viaHeader.DefaultRequestHeaders.Add("X-Hindsight-Key", s.ReadKey);
        Assert.Equal(HttpStatusCode.OK, (await viaHeader.GetAsync("/api/changes")).StatusCode);

        var id = (long)(await s.GetAsync("/api/changes?table=orders&key=3&operation=DELETE")).Body!["changes"]![0]!["id"]!;
        var (status, body) = await s.PostAsync("/api/revert", $$"""{"change": {{id}}}""", s.ReadKey);
        Assert.Equal(403, status);
        Assert.Contains("admin", (string)body!["detail"]!, StringComparison.Ordinal);
        Assert.Equal(0, await s.Harness.ScalarAsync<long>("SELECT count(*) FROM orders WHERE id = 3")); // nothing reverted
        // A read key may still plan: a dry run changes nothing.
        Assert.Equal(200, (await s.PostAsync("/api/revert/plan", $$"""{"change": {{id}}}""", s.ReadKey)).Status);
        Assert.Equal(401, (await s.PostAsync("/api/revert", $$"""{"change": {{id}}}""", "hsk_not-a-key")).Status);
    }

    [Fact]
    public async Task Api_answers_carry_security_headers_no_cors_and_no_caching_and_the_dashboard_page_is_public()
    {
        await using var s = await ApiServer.StartAsync(fixture);
        var client = s.Client(s.ReadKey);
        client.DefaultRequestHeaders.Add("Origin", "https://evil.example");
        foreach (var path in new[] { "/api/changes", "/api/no-such-thing" })
        {
            using var r = await client.GetAsync(path);
            Assert.Equal("nosniff", r.Headers.GetValues("X-Content-Type-Options").Single());
            Assert.Contains("frame-ancestors 'none'", r.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
            Assert.Contains("default-src 'self'", r.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
            Assert.True(r.Headers.CacheControl?.NoStore);
            Assert.False(r.Headers.Contains("Access-Control-Allow-Origin"));
            Assert.False(r.Headers.Contains("Server"));
        }
        using var unauthorized = await s.Client(null).GetAsync("/api/changes");
        Assert.Equal("nosniff", unauthorized.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.True(unauthorized.Headers.CacheControl?.NoStore);

        using var preflight = new HttpRequestMessage(HttpMethod.Options, "/api/changes");
        preflight.Headers.Add("Origin", "https://evil.example");
        preflight.Headers.Add("Access-Control-Request-Method", "GET");
        using var pre = await s.Client(null).SendAsync(preflight);
        Assert.False(pre.Headers.Contains("Access-Control-Allow-Origin"));

        using var page = await s.Client(null).GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        Assert.Contains("Hindsight", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Contains("script-src 'self'", page.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
    }
}
