using System.Net;
using System.Text.Json.Nodes;
using Hindsight.Tests.Infrastructure;
using Xunit;

namespace Hindsight.Tests.Server.Api;

/// <summary><c>GET /api/session</c>: the calling key's name and scope (what the dashboard shows and hides by), never the key.</summary>
[Collection(PostgresCollection.Name)]
[Trait("Category", "PostgreSQL")]
public sealed class ApiSessionTests(PostgresFixture fixture)
{
    [Fact]
    public async Task Api_session_names_the_key_and_its_scope_and_is_401_without_a_valid_key()
    {
        await using var s = await ApiServer.StartAsync(fixture);

        var (status, read) = await s.GetAsync("/api/session", s.ReadKey);
        Assert.Equal(200, status);
        Assert.Equal("reader", (string)read!["name"]!);
        Assert.Equal("read", (string)read["scope"]!);
        Assert.Equal(["name", "scope"], read.AsObject().Select(p => p.Key).ToArray()); // nothing else: no key, no hash

        var (adminStatus, admin) = await s.GetAsync("/api/session", s.AdminKey);
        Assert.Equal(200, adminStatus);
        Assert.Equal(s.AdminKeyName, (string)admin!["name"]!);
        Assert.Equal("admin", (string)admin["scope"]!);
        Assert.DoesNotContain(s.AdminKey, admin.ToJsonString(), StringComparison.Ordinal);

        using var none = await s.Client(null).GetAsync("/api/session");
        Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        Assert.Equal("application/problem+json", none.Content.Headers.ContentType?.MediaType);
        using var wrong = await s.Client(s.AdminKey[..^1]).GetAsync("/api/session");
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Contains("invalid_token", wrong.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        Assert.True(wrong.Headers.CacheControl?.NoStore);
    }

    [Fact]
    public async Task Api_session_is_in_the_openapi_document_with_its_fields()
    {
        await using var s = await ApiServer.StartAsync(fixture);
        var (_, doc) = await s.GetAsync("/openapi/v1.json");
        var get = doc!["paths"]!["/api/session"]?["get"];
        Assert.NotNull(get);
        Assert.Equal("session", (string)get["operationId"]!);
        var properties = doc["components"]!["schemas"]!["SessionDto"]!["properties"]!.AsObject().Select(p => p.Key).ToList();
        Assert.Equal(["name", "scope"], properties);
    }
}
