using System.Text.Json.Nodes;
using Hindsight.Tests.Infrastructure;
using Xunit;

namespace Hindsight.Tests.Server.Api;

/// <summary>Changes, history, as-of and trends over HTTP, with hostile input: answers right or a clear 400, never changed SQL.</summary>
[Collection(PostgresCollection.Name)]
[Trait("Category", "PostgreSQL")]
public sealed class ApiQueryTests(PostgresFixture fixture)
{
    private static readonly string[] StoreColumns =
    [
        "id", "source", "database", "schema", "table", "primary_key", "operation", "before", "after", "context",
        "committed_at", "transaction_id", "position", "commit_lsn", "ordinal", "queued_at", "created_at",
    ];

    private static List<JsonObject> Changes(JsonNode? body) => body!["changes"]!.AsArray().Select(c => c!.AsObject()).ToList();

    [Fact]
    public async Task Api_changes_are_store_rows_newest_first_and_pages_visit_every_change_once()
    {
        await using var s = await ApiServer.StartAsync(fixture);
        await s.SeedAsync();
        var (status, all) = await s.GetAsync("/api/changes");
        Assert.Equal(200, status);
        var changes = Changes(all);
        Assert.Equal(5, changes.Count);
        Assert.Null(all!["next_cursor"]);
        Assert.Equal(StoreColumns, changes[0].Select(kv => kv.Key).ToArray());
        Assert.Equal(changes.Select(c => (long)c["id"]!).OrderDescending(), changes.Select(c => (long)c["id"]!));
        var delete = changes[0];
        Assert.Equal("DELETE", (string)delete["operation"]!);
        Assert.Equal("3", (string)delete["primary_key"]!);
        Assert.Equal("bob", (string)delete["context"]!["userId"]!);
        Assert.Equal(30m, (decimal)delete["before"]!["total"]!);
        Assert.EndsWith("Z", (string)delete["committed_at"]!, StringComparison.Ordinal);

        foreach (var order in new[] { "newest", "oldest" })
        {
            var seen = new List<long>();
            string? cursor = null;
            do
            {
                var (_, page) = await s.GetAsync($"/api/changes?limit=2&order={order}{(cursor is null ? "" : "&cursor=" + cursor)}");
                seen.AddRange(Changes(page).Select(c => (long)c["id"]!));
                cursor = page!["next_cursor"]?.ToString();
            } while (cursor is not null);
            var expected = changes.Select(c => (long)c["id"]!).ToList();
            if (order == "oldest") expected.Reverse();
            Assert.Equal(expected, seen);
        }
    }

    [Fact]
    public async Task Api_changes_filter_by_every_criterion_of_the_library()
    {
        await using var s = await ApiServer.StartAsync(fixture);
        await s.SeedAsync();
        await s.Harness.ExecuteAsync("INSERT INTO \"we'ird\" VALUES (1, 'x')");
        await s.Harness.CatchUpAsync();
        async Task<int> Count(string query) => Changes((await s.GetAsync("/api/changes?" + query)).Body).Count;

        Assert.Equal(1, await Count("table=" + Uri.EscapeDataString("\"we'ird\"")));
        Assert.Equal(1, await Count("table=" + Uri.EscapeDataString("public.\"we'ird\"")));
        Assert.Equal(6, await Count("table=orders&table=" + Uri.EscapeDataString("\"we'ird\"")));
        Assert.Equal(6, await Count("table=" + Uri.EscapeDataString("orders,\"we'ird\"")));
        Assert.Equal(2, await Count("table=orders&key=1"));
        Assert.Equal(5, await Count("operation=insert,delete")); // 3 + 1 orders, 1 we'ird
        Assert.Equal(2, await Count("operation=UPDATE&operation=DELETE"));
        Assert.Equal(2, await Count("context=" + Uri.EscapeDataString("{\"userId\":\"bob\"}")));
        Assert.Equal(1, await Count("before=" + Uri.EscapeDataString("{\"status\":\"new\",\"id\":1}")));
        Assert.Equal(1, await Count("after=" + Uri.EscapeDataString("{\"status\":\"paid\"}")));
        Assert.Equal(0, await Count("since=2999-01-01"));
        Assert.Equal(6, await Count("since=2000-01-01T00:00:00Z&until=2999-01-01T00:00:00%2B02:00"));
        Assert.Equal(6, await Count("database=*"));
        Assert.Equal(0, await Count("database=other"));
        var xid = await s.Harness.ScalarAsync<long>("SELECT transaction_id FROM hindsight.changes WHERE operation = 'DELETE'");
        Assert.Equal(2, await Count($"transaction={xid}"));

        // A second source of the store whose database has the same name (another server's): the server's own source is
        // the default; database= names both; source= one of them, or every one with *.
        var db = await s.Harness.ScalarAsync<string>("SELECT current_database()");
        await s.Harness.ExecuteAsync(
            """
            INSERT INTO hindsight.changes (source, database, schema, "table", primary_key, operation, after, committed_at, transaction_id,
                                           position, commit_lsn, ordinal, queued_at)
            VALUES ('elsewhere', current_database(), 'public', 'orders', '1', 'CREATE', '{"id": 1}', now(), 1, 1, 1, 1, now())
            """);
        Assert.Equal(6, await Count(""));
        Assert.Equal(6, await Count("source=" + db));
        Assert.Equal(1, await Count("source=elsewhere"));
        Assert.Equal(7, await Count("source=*"));
        Assert.Equal(7, await Count("database=" + db));
        Assert.Equal(1, await Count("source=elsewhere&database=" + db));
        Assert.Equal(0, await Count("source=other"));
        // Another server's database of another name: every source means every database too.
        await s.Harness.ExecuteAsync(
            """
            INSERT INTO hindsight.changes (source, database, schema, "table", primary_key, operation, after, committed_at, transaction_id,
                                           position, commit_lsn, ordinal, queued_at)
            VALUES ('third', 'crm', 'public', 'orders', '1', 'CREATE', '{"id": 1}', now(), 1, 1, 1, 1, now())
            """);
        Assert.Equal(8, await Count("source=*"));
        Assert.Equal(1, await Count("source=*&database=crm"));
        Assert.Equal(1, await Count("database=crm"));
        Assert.Equal(6, await Count(""));
        var (_, page) = await s.GetAsync("/api/changes?source=*&table=orders&key=1");
        Assert.Equal(["elsewhere", db, db, "third"], Changes(page).Select(c => (string)c["source"]!).Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("table=orders%27%3B%20DROP%20TABLE%20orders%3B%20--")]
    [InlineData("key=1%27%20OR%20%271%27%3D%271")]
    [InlineData("context=%7B%22userId%22%3A%22%27%3B%20DROP%20TABLE%20orders%3B%20--%22%7D")]
    [InlineData("table=%22orders%22%22%3B%20DELETE%20FROM%20orders%3B%20--%22")]
    [InlineData("database=x%27%20OR%201%3D1%20--")]
    [InlineData("source=x%27%20OR%201%3D1%20--")]
    public async Task Api_hostile_filter_values_are_only_values(string query)
    {
        await using var s = await ApiServer.StartAsync(fixture);
        await s.SeedAsync();
        var (status, body) = await s.GetAsync("/api/changes?" + query);
        Assert.Equal(200, status);
        Assert.Empty(Changes(body));
        Assert.Equal(2, await s.Harness.ScalarAsync<long>("SELECT count(*) FROM orders"));
        Assert.Equal(5, await s.Harness.ScalarAsync<long>("SELECT count(*) FROM hindsight.changes"));
    }

    [Theory]
    [InlineData("context=%5B1%5D", "context must be a JSON object")]
    [InlineData("context=%22text%22", "context must be a JSON object")]
    [InlineData("context=%7B%22a%22%3A", "context must be a JSON object")]
    [InlineData("before=1%3D1", "before must be a JSON object")]
    [InlineData("after=null", "after must be a JSON object")]
    [InlineData("operation=DROP", "unknown operation 'DROP'")]
    [InlineData("since=yesterday", "since: 'yesterday' is not an ISO 8601 time")]
    [InlineData("until=2025-01-01%27%3B--", "until:")]
    [InlineData("transaction=1%20OR%201%3D1", "transaction: '1 OR 1=1' is not a whole number")]
    [InlineData("limit=0", "limit: '0' is not a whole number between 1 and 1000")]
    [InlineData("limit=1001", "between 1 and 1000")]
    [InlineData("limit=abc", "limit: 'abc'")]
    [InlineData("cursor=abc", "cursor: 'abc' is not a whole number")]
    [InlineData("order=sideways", "order: 'sideways' is not newest or oldest")]
    [InlineData("table=%22unbalanced", "unbalanced double quote")]
    public async Task Api_bad_filter_input_is_a_400_problem_with_the_reason(string query, string reason)
    {
        await using var s = await ApiServer.StartAsync(fixture);
        using var response = await s.Client(s.ReadKey).GetAsync("/api/changes?" + query);
        Assert.Equal(400, (int)response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal(400, (int)problem["status"]!);
        Assert.Contains(reason, (string)problem["detail"]!, StringComparison.Ordinal);
        Assert.DoesNotContain("(Parameter", (string)problem["detail"]!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Api_history_is_newest_first_with_diffs_and_404_for_a_row_never_changed()
    {
        await using var s = await ApiServer.StartAsync(fixture);
        await s.SeedAsync();
        var (status, body) = await s.GetAsync("/api/history?table=orders&key=1");
        Assert.Equal(200, status);
        Assert.Equal("orders", (string)body!["table"]!);
        Assert.False((bool)body["truncated"]!);
        var versions = body["versions"]!.AsArray();
        Assert.Equal(["UPDATE", "CREATE"], versions.Select(v => (string)v!["change"]!["operation"]!));
        Assert.Equal("paid", (string)versions[0]!["row"]!["status"]!);
        var diff = Assert.Single(versions[0]!["diff"]!.AsArray());
        Assert.Equal("status", (string)diff!["column"]!);
        Assert.Equal("changed", (string)diff["kind"]!);
        Assert.Equal("new", (string)diff["old_value"]!);
        Assert.Equal("paid", (string)diff["new_value"]!);

        var oldest = (await s.GetAsync("/api/history?table=orders&key=3&order=oldest&limit=1")).Body!;
        Assert.Equal("CREATE", (string)oldest["versions"]![0]!["change"]!["operation"]!);
        Assert.True((bool)oldest["truncated"]!);
        Assert.Null(oldest["versions"]!.AsArray().Single()!["row"]!["missing"]);

        var deleted = (await s.GetAsync("/api/history?table=orders&key=3")).Body!;
        Assert.Null(deleted["versions"]![0]!["row"]); // the DELETE left no row

        var missing = await s.GetAsync("/api/history?table=orders&key=99");
        Assert.Equal(404, missing.Status);
        Assert.Contains("no stored changes of orders key 99", (string)missing.Body!["detail"]!, StringComparison.Ordinal);
        Assert.Equal(400, (await s.GetAsync("/api/history?key=1")).Status);
        Assert.Equal(400, (await s.GetAsync("/api/history?table=orders")).Status);
    }

    [Fact]
    public async Task Api_as_of_gives_the_table_or_a_row_then_with_a_completeness_note()
    {
        await using var s = await ApiServer.StartAsync(fixture);
        await s.SeedAsync();
        var between = await s.Harness.ScalarAsync<DateTime>("SELECT min(committed_at) FROM hindsight.changes WHERE operation = 'UPDATE'");
        var at = Uri.EscapeDataString(new DateTimeOffset(DateTime.SpecifyKind(between, DateTimeKind.Utc)).AddTicks(-10).ToString("O"));

        var (status, table) = await s.GetAsync($"/api/as-of?table=orders&at={at}");
        Assert.Equal(200, status);
        Assert.Equal(["1", "2", "3"], table!["rows"]!.AsArray().Select(r => (string)r!["primary_key"]!));
        Assert.Equal("new", (string)table["rows"]![0]!["row"]!["status"]!);
        Assert.False((bool)table["complete"]!);
        Assert.Equal(3, (int)table["row_count"]!);
        Assert.Contains("complete only for rows changed since tracking began", (string)table["completeness_note"]!, StringComparison.Ordinal);
        Assert.NotNull(table["tracking_since"]);

        // A table one page at a time, by key: the pages together are the table (PostgreSQL's own rows, key order).
        var now = (await s.GetAsync("/api/as-of?table=orders&at=2999-01-01&limit=1")).Body!;
        Assert.Equal(1, (int)now["row_count"]!);
        Assert.True((bool)now["truncated"]!);
        Assert.Equal("paid", (string)now["rows"]![0]!["row"]!["status"]!);
        var keys = new List<string>();
        for (var page = now; ;)
        {
            keys.AddRange(page["rows"]!.AsArray().Select(r => (string)r!["primary_key"]!));
            if (page["next_after"] is not { } next) { Assert.False((bool)page["truncated"]!); break; }
            Assert.Equal(keys[^1], (string)next!);
            page = (await s.GetAsync($"/api/as-of?table=orders&at=2999-01-01&limit=1&after={Uri.EscapeDataString((string)next!)}")).Body!;
        }
        Assert.Equal((await s.Harness.RowsAsync("SELECT id::text FROM orders ORDER BY id::text COLLATE \"C\"")).Select(r => r[0]), keys);
        Assert.Equal(400, (await s.GetAsync("/api/as-of?table=orders&at=2999-01-01&key=1&after=1")).Status);

        var row = (await s.GetAsync($"/api/as-of?table=orders&at={at}&key=3")).Body!;
        Assert.Equal(30m, (decimal)row["rows"]!.AsArray().Single()!["row"]!["total"]!);
        var gone = await s.GetAsync("/api/as-of?table=orders&at=2999-01-01&key=3");
        Assert.Equal(404, gone.Status);
        Assert.Contains("did not exist", (string)gone.Body!["detail"]!, StringComparison.Ordinal);

        Assert.Equal(400, (await s.GetAsync("/api/as-of?table=orders")).Status);
        Assert.Equal(400, (await s.GetAsync("/api/as-of?table=orders&at=soon")).Status);
        Assert.Equal(400, (await s.GetAsync("/api/as-of?at=2999-01-01")).Status);

        // The same state named by the transaction just before the first update, and by its commit LSN.
        var before = await s.Harness.RowsAsync(
            "SELECT transaction_id::text, commit_lsn::text FROM hindsight.changes WHERE committed_at < $1 ORDER BY commit_lsn DESC LIMIT 1", between);
        var byTransaction = (await s.GetAsync($"/api/as-of?table=orders&transaction={before[0][0]}")).Body!;
        Assert.Equal(["1", "2", "3"], byTransaction["rows"]!.AsArray().Select(r => (string)r!["primary_key"]!));
        var lsn = new NpgsqlTypes.NpgsqlLogSequenceNumber(ulong.Parse(before[0][1], System.Globalization.CultureInfo.InvariantCulture));
        var byLsn = (await s.GetAsync($"/api/as-of?table=orders&lsn={Uri.EscapeDataString(lsn.ToString())}")).Body!;
        Assert.Equal(byTransaction["rows"]!.ToJsonString(), byLsn["rows"]!.ToJsonString());
        Assert.Equal(400, (await s.GetAsync($"/api/as-of?table=orders&at=2999-01-01&transaction={before[0][0]}")).Status);
        Assert.Equal(400, (await s.GetAsync("/api/as-of?table=orders&lsn=nowhere")).Status);
        Assert.Equal(400, (await s.GetAsync("/api/as-of?table=orders&transaction=987654321")).Status);
    }

    [Fact]
    public async Task Api_trends_count_changes_per_bucket_and_group()
    {
        await using var s = await ApiServer.StartAsync(fixture);
        await s.SeedAsync();
        var (status, body) = await s.GetAsync("/api/trends?bucket=day&by=operation");
        Assert.Equal(200, status);
        Assert.Equal("day", (string)body!["bucket"]!);
        var counts = body["points"]!.AsArray().GroupBy(p => (string)p!["group"]!).ToDictionary(g => g.Key, g => g.Sum(p => (long)p!["count"]!));
        Assert.Equal(3, counts["CREATE"]);
        Assert.Equal(1, counts["UPDATE"]);
        Assert.Equal(1, counts["DELETE"]);

        var byUser = (await s.GetAsync("/api/trends?bucket=hour&by=context:userId&operation=UPDATE,DELETE")).Body!;
        Assert.Equal(2, byUser["points"]!.AsArray().Where(p => (string?)p!["group"] == "bob").Sum(p => (long)p!["count"]!));

        var bad = await s.GetAsync("/api/trends?bucket=fortnight");
        Assert.Equal(400, bad.Status);
        Assert.Contains("unknown bucket 'fortnight'", (string)bad.Body!["detail"]!, StringComparison.Ordinal);
        Assert.Equal(400, (await s.GetAsync("/api/trends?by=colour")).Status);
        Assert.Equal(400, (await s.GetAsync("/api/trends?context=%5B%5D")).Status);
    }

    [Fact]
    public async Task Api_an_unknown_endpoint_is_a_404_problem()
    {
        await using var s = await ApiServer.StartAsync(fixture);
        var (status, body) = await s.GetAsync("/api/changez");
        Assert.Equal(404, status);
        Assert.Contains("no such endpoint", (string)body!["detail"]!, StringComparison.Ordinal);
    }
}
