using Hindsight.Tests.Infrastructure;
using Xunit;

namespace Hindsight.Tests.Server.Api;

/// <summary><c>GET /api/as-of</c> and <c>/api/health</c> name the columns the stored images do not hold as data.</summary>
[Collection(PostgresCollection.Name)]
[Trait("Category", "PostgreSQL")]
public sealed class ApiUntrackedColumnTests(PostgresFixture fixture)
{
    [Fact]
    public async Task As_of_and_health_name_generated_columns_the_images_lack()
    {
        await using var s = await ApiServer.StartAsync(fixture, schema:
            "CREATE TABLE g (id int PRIMARY KEY, a int, b int GENERATED ALWAYS AS (a * 2) STORED);");
        await s.Harness.ExecuteAsync("INSERT INTO g (id, a) VALUES (1, 3)");
        await s.Harness.CatchUpAsync();
        var publishes = await s.Harness.ScalarAsync<int>("SELECT current_setting('server_version_num')::int") >= 180000;

        var (status, answer) = await s.GetAsync("/api/as-of?table=g&at=2999-01-01");
        Assert.Equal(200, status);
        var row = answer!["rows"]!.AsArray().Single()!;
        // The row as PostgreSQL renders it, less what the server does not publish.
        var expected = await s.Harness.ScalarAsync<string>(
            publishes ? "SELECT to_jsonb(g)::text FROM g" : "SELECT (to_jsonb(g) - 'b')::text FROM g");
        Assert.True(System.Text.Json.Nodes.JsonNode.DeepEquals(System.Text.Json.Nodes.JsonNode.Parse(expected), row["row"]));
        if (publishes)
        {
            Assert.Empty(answer["untracked_columns"]!.AsObject());
            return;
        }
        Assert.Equal("generated", (string)answer["untracked_columns"]!["b"]!);
        Assert.Equal("generated", (string)row["untracked_columns"]!["b"]!);
        Assert.Contains("b (generated", (string)answer["untracked_note"]!, StringComparison.Ordinal);

        var health = (await s.GetAsync("/api/health")).Body!;
        var column = health["untracked_columns"]!.AsArray().Single()!;
        Assert.Equal(("g", "b", "generated"), ((string)column["table"]!, (string)column["column"]!, (string)column["reason"]!));
        Assert.Contains(health["warnings"]!.AsArray(), w => ((string)w!).Contains("public.g: b (generated)", StringComparison.Ordinal));
    }
}
