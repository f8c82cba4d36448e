using System.Text.Json.Nodes;
using Hindsight.Tests.Infrastructure;
using Xunit;

namespace Hindsight.Tests.Server.Api;

/// <summary>Revert over HTTP: plans change nothing; an admin key's revert restores rows (checked with SQL) and names the key in its context.</summary>
[Collection(PostgresCollection.Name)]
[Trait("Category", "PostgreSQL")]
public sealed class ApiRevertTests(PostgresFixture fixture)
{
    private static async Task<long> XidOfBobAsync(ApiServer s) =>
        await s.Harness.ScalarAsync<long>("SELECT transaction_id FROM hindsight.changes WHERE operation = 'DELETE'");

    private static Task<string> OrdersAsync(ApiServer s) =>
        s.Harness.ScalarAsync<string>("SELECT jsonb_agg(to_jsonb(o) ORDER BY id)::text FROM orders o");

    [Fact]
    public async Task Api_revert_plan_shows_statements_and_sql_and_changes_nothing()
    {
        await using var s = await ApiServer.StartAsync(fixture);
        await s.SeedAsync();
        var before = await OrdersAsync(s);
        var (status, plan) = await s.PostAsync("/api/revert/plan", $$"""{"transaction": {{await XidOfBobAsync(s)}}}""", s.ReadKey);
        Assert.Equal(200, status);
        Assert.False((bool)plan!["applied"]!);
        Assert.Empty(plan["conflicts"]!.AsArray());
        Assert.Empty(plan["rows_affected"]!.AsArray());
        Assert.Equal(["INSERT", "UPDATE"], plan["statements"]!.AsArray().Select(st => (string)st!["action"]!));
        Assert.Equal("3", (string)plan["statements"]![0]!["primary_key"]!);
        var sql = (string)plan["sql"]!;
        Assert.StartsWith("BEGIN;", sql, StringComparison.Ordinal);
        Assert.Contains("\"apiKey\":\"reader\"", sql, StringComparison.Ordinal); // the context the revert would carry
        Assert.Contains("revertOf", sql, StringComparison.Ordinal);
        Assert.Equal(before, await OrdersAsync(s));
    }

    [Fact]
    public async Task Api_revert_with_an_admin_key_restores_the_rows_and_its_context_names_the_key()
    {
        await using var s = await ApiServer.StartAsync(fixture);
        await s.SeedAsync();
        // The state before bob's transaction, to compare with after the revert.
        var expected = await s.Harness.ScalarAsync<string>(
            "SELECT jsonb_agg(after ORDER BY (after->>'id')::int)::text FROM hindsight.changes WHERE operation = 'CREATE'");
        var xid = await XidOfBobAsync(s);
        // A caller cannot claim another key: apiKey is the server's to set.
        var (status, result) = await s.PostAsync("/api/revert",
            $$$"""{"transaction": {{{xid}}}, "context": {"reason": "ticket 42", "apiKey": "someone-else"}}""", s.AdminKey);
        Assert.Equal(200, status);
        Assert.True((bool)result!["applied"]!);
        Assert.Equal([1, 1], result["rows_affected"]!.AsArray().Select(n => (int)n!));
        Assert.Equal(expected, await OrdersAsync(s));

        await s.Harness.CatchUpAsync();
        var context = JsonNode.Parse(await s.Harness.ScalarAsync<string>(
            "SELECT context::text FROM hindsight.changes WHERE context ? 'hindsight' ORDER BY id DESC LIMIT 1"))!;
        Assert.Equal(s.AdminKeyName, (string)context["apiKey"]!);
        Assert.Equal("ticket 42", (string)context["reason"]!);
        Assert.Equal(xid, (long)context["hindsight"]!["revertOf"]!["transaction"]!);
        // The revert is itself in the trail, and findable by the key that made it.
        var byKey = (await s.GetAsync("/api/changes?context=" + Uri.EscapeDataString($$"""{"apiKey":"{{s.AdminKeyName}}"}"""))).Body!;
        Assert.Equal(2, byKey["changes"]!.AsArray().Count);
    }

    [Fact]
    public async Task Api_revert_refuses_a_conflict_with_409_unless_forced()
    {
        await using var s = await ApiServer.StartAsync(fixture);
        await s.SeedAsync();
        var created = await s.Harness.ScalarAsync<long>("SELECT id FROM hindsight.changes WHERE operation = 'CREATE' AND primary_key = '1'");
        // Reverting the creation of order 1 conflicts with bob's later update of it.
        var before = await OrdersAsync(s);
        var (status, problem) = await s.PostAsync("/api/revert", $$"""{"change": {{created}}}""", s.AdminKey);
        Assert.Equal(409, status);
        Assert.Contains("refused", (string)problem!["detail"]!, StringComparison.Ordinal);
        var conflict = Assert.Single(problem["conflicts"]!.AsArray());
        Assert.Equal("1", (string)conflict!["primary_key"]!);
        Assert.NotNull(conflict["later_change"]);
        Assert.Equal(before, await OrdersAsync(s));

        var (forced, result) = await s.PostAsync("/api/revert", $$"""{"change": {{created}}, "force": true}""", s.AdminKey);
        Assert.Equal(200, forced);
        Assert.True((bool)result!["applied"]!);
        Assert.Equal(0, await s.Harness.ScalarAsync<long>("SELECT count(*) FROM orders WHERE id = 1"));
    }

    [Fact]
    public async Task Api_revert_by_filter_and_rollback_to_a_moment()
    {
        await using var s = await ApiServer.StartAsync(fixture);
        await s.SeedAsync();
        var (status, plan) = await s.PostAsync("/api/revert/plan",
            """{"filter": {"context": {"userId": "bob"}, "tables": ["orders"], "operations": ["DELETE"]}}""", s.ReadKey);
        Assert.Equal(200, status);
        Assert.Equal("INSERT", (string)plan!["statements"]!.AsArray().Single()!["action"]!);

        var afterAlice = await s.Harness.ScalarAsync<DateTime>("SELECT max(committed_at) FROM hindsight.changes WHERE operation = 'CREATE'");
        var to = new DateTimeOffset(DateTime.SpecifyKind(afterAlice, DateTimeKind.Utc)).ToString("O");
        var (rolled, result) = await s.PostAsync("/api/revert", $$$"""{"rollback": {"tables": ["orders"], "to": "{{{to}}}"}}""", s.AdminKey);
        Assert.Equal(200, rolled);
        Assert.True((bool)result!["applied"]!);
        Assert.Equal("[\"new\", \"new\", \"new\"]", await s.Harness.ScalarAsync<string>("SELECT jsonb_agg(status ORDER BY id)::text FROM orders"));
    }

    [Theory]
    [InlineData("", "must be a JSON object")]
    [InlineData("not json", "not a valid revert request")]
    [InlineData("[1]", "not a valid revert request")]
    [InlineData("null", "not null")]
    [InlineData("{}", "exactly one of change, transaction, commit_lsn, filter or rollback")]
    [InlineData("""{"change": 1, "transaction": 2}""", "exactly one of")]
    [InlineData("""{"change": "1; DROP TABLE orders"}""", "not a valid revert request at $.change")]
    [InlineData("""{"chnage": 1}""", "not a valid revert request")]
    [InlineData("""{"filter": {"contxt": {"userId": "bob"}}}""", "not a valid revert request")]
    [InlineData("""{"filter": {}}""", "selects every change")]
    [InlineData("""{"filter": {"context": "{\"userId\":\"bob\"}"}}""", "filter.context must be a JSON object")]
    [InlineData("""{"filter": {"context": [1]}}""", "filter.context must be a JSON object")]
    [InlineData("""{"filter": {"since": "last week"}}""", "filter.since:")]
    [InlineData("""{"commit_lsn": "0/XYZ"}""", "commit_lsn: '0/XYZ' is not an LSN")]
    [InlineData("""{"rollback": {"tables": [], "to": "2025-01-01"}}""", "name at least one table")]
    [InlineData("""{"rollback": {"tables": ["orders"]}}""", "rollback.to is required")]
    [InlineData("""{"change": 1, "context": "who"}""", "context must be a JSON object")]
    public async Task Api_bad_revert_requests_are_400_and_change_nothing(string body, string reason)
    {
        await using var s = await ApiServer.StartAsync(fixture);
        await s.SeedAsync();
        var before = await OrdersAsync(s);
        foreach (var path in new[] { "/api/revert/plan", "/api/revert" })
        {
            var (status, problem) = await s.PostAsync(path, body, s.AdminKey);
            Assert.Equal(400, status);
            Assert.Contains(reason, (string)problem!["detail"]!, StringComparison.Ordinal);
        }
        Assert.Equal(before, await OrdersAsync(s));
    }

    [Fact]
    public async Task Api_reverting_what_does_not_exist_is_404()
    {
        await using var s = await ApiServer.StartAsync(fixture);
        await s.SeedAsync();
        var (status, problem) = await s.PostAsync("/api/revert", """{"change": 999999}""", s.AdminKey);
        Assert.Equal(404, status);
        Assert.Contains("nothing to revert", (string)problem!["detail"]!, StringComparison.Ordinal);
        Assert.Equal(404, (await s.PostAsync("/api/revert/plan", """{"filter": {"context": {"userId": "nobody"}}}""", s.ReadKey)).Status);
    }
}
