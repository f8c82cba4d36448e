using System.Text.Json.Nodes;
using Hindsight.Tests.Infrastructure;
using Microsoft.Extensions.Hosting;
using Xunit;

namespace Hindsight.Tests.Server.Api;

/// <summary>The OpenAPI document and the health endpoint over real HTTP.</summary>
[Collection(PostgresCollection.Name)]
[Trait("Category", "PostgreSQL")]
public sealed class ApiDocumentAndHealthTests(PostgresFixture fixture)
{
    [Fact]
    public async Task Api_openapi_document_lists_every_endpoint_and_the_key_scheme()
    {
        await using var s = await ApiServer.StartAsync(fixture);
        var (status, doc) = await s.GetAsync("/openapi/v1.json");
        Assert.Equal(200, status);
        Assert.StartsWith("3.", (string)doc!["openapi"]!, StringComparison.Ordinal);
        var paths = doc["paths"]!.AsObject();
        foreach (var path in new[] { "/api/changes", "/api/changes/stream", "/api/history", "/api/as-of", "/api/revert/plan", "/api/revert", "/api/trends", "/api/health", "/api/session", "/api/schema-changes",
                     "/api/changes/{id}/verification", "/api/changes/{id}/proof", "/api/checkpoints/latest" })
            Assert.True(paths.ContainsKey(path), $"{path} missing from {string.Join(", ", paths.Select(p => p.Key))}");
        Assert.NotNull(paths["/api/revert"]!["post"]);
        var parameters = paths["/api/changes"]!["get"]!["parameters"]!.AsArray().Select(p => (string)p!["name"]!).ToList();
        Assert.Equal(["table", "key", "operation", "since", "until", "transaction", "context", "before", "after", "source", "database", "limit", "cursor", "order"],
            parameters);
        Assert.Equal(["table", "since", "until", "source", "database", "limit", "snapshots"],
            paths["/api/schema-changes"]!["get"]!["parameters"]!.AsArray().Select(p => (string)p!["name"]!));
        var scheme = doc["components"]!["securitySchemes"]!["apiKey"]!;
        Assert.Equal("http", (string)scheme["type"]!);
        Assert.Equal("bearer", (string)scheme["scheme"]!);
        // Change objects are documented with the store's column names.
        var change = doc["components"]!["schemas"]!["ChangeDto"]!["properties"]!.AsObject();
        Assert.Contains("primary_key", change.Select(p => p.Key));
        Assert.Contains("committed_at", change.Select(p => p.Key));
        var schemaChange = doc["components"]!["schemas"]!["SchemaChangeDto"]!["properties"]!.AsObject();
        Assert.Contains("command_tag", schemaChange.Select(p => p.Key));
        Assert.Contains("effects", schemaChange.Select(p => p.Key));
        Assert.Contains("schema_changes", doc["components"]!["schemas"]!["RecordHistoryDto"]!["properties"]!.AsObject().Select(p => p.Key));
    }

    [Fact]
    public async Task Api_health_is_200_with_the_status_figures_when_healthy()
    {
        await using var s = await ApiServer.StartAsync(fixture);
        await s.SeedAsync();
        var (status, health) = await s.GetAsync("/api/health");
        Assert.Equal(200, status);
        Assert.True((bool)health!["healthy"]!);
        Assert.True((bool)health["slot_exists"]!);
        Assert.Equal(s.Harness.Slot, (string)health["slot"]!);
        Assert.Empty(health["problems"]!.AsArray());
        Assert.True((long)health["stored_changes"]! >= 5);
        Assert.DoesNotContain("password", health.ToJsonString(), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Api_health_is_503_with_the_problems_when_unhealthy()
    {
        await using var s = await ApiServer.StartAsync(fixture, o => o.Slot = "no_such_slot");
        var (status, health) = await s.GetAsync("/api/health");
        Assert.Equal(503, status);
        Assert.False((bool)health!["healthy"]!);
        Assert.Contains(health["problems"]!.AsArray(), p => ((string)p!).Contains("no_such_slot does not exist", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Api_a_store_that_is_not_set_up_is_a_503_problem_not_a_stack_trace()
    {
        var bare = await fixture.CreateDatabaseAsync();
        var read = Hindsight.Server.Auth.ApiKeys.Generate("r", Hindsight.Server.Auth.ApiKeyScope.Read);
        await using var app = Hindsight.Server.HindsightServer.Build(o =>
        {
            o.SourceConnectionString = bare;
            o.Keys.Add(read.Entry);
        }, ["http://127.0.0.1:0"]);
        await app.StartAsync();
        using var client = new HttpClient { BaseAddress = new Uri(Hindsight.Server.HindsightServer.Addresses(app).Single()) };
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", read.Key);
        using var response = await client.GetAsync("/api/changes");
        Assert.Equal(503, (int)response.StatusCode);
        var problem = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Contains("run hindsight setup", (string)problem["detail"]!, StringComparison.Ordinal);
        await app.StopAsync();
    }
}
