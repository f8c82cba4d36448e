using System.Text.Json.Nodes;
using Hindsight.Chain;
using Hindsight.Tests.Server.Api;
using Hindsight.Tests.Infrastructure;
using Microsoft.Playwright;
using Xunit;
using static Microsoft.Playwright.Assertions;

namespace Hindsight.Tests.Server.Dashboard;

/// <summary>
/// The dashboard in headless Chromium over a real server and PostgreSQL: sign-in, the filtered trail, a diff, a row's
/// history, as-of, an admin's revert checked in the database, the live tail and the trends chart. One browser and one
/// set of data for the class; every figure on screen is checked against what PostgreSQL holds.
/// </summary>
[Collection(PostgresCollection.Name)]
[Trait("Category", "Browser")]
public sealed class DashboardTests(PostgresFixture fixture, DashboardSite site) : IClassFixture<DashboardSite>, IAsyncLifetime
{
    private const string Schema =
        """
        CREATE TABLE orders (id int PRIMARY KEY, status text, total numeric(10,2), note text);
        CREATE TABLE "we'ird" (id int PRIMARY KEY, v text);
        """;

    private ApiServer S => site.Server;

    public Task InitializeAsync() => site.StartAsync(fixture, Schema, SeedAsync);

    public Task DisposeAsync() => Task.CompletedTask;

    /// <summary>Several users' requests, a job, and the changes the revert tests undo; returns when all are stored.</summary>
    private static async Task SeedAsync(ApiServer s)
    {
        await DashboardData.WriteAsync(s, new { userId = "alice", requestId = "r-a1", route = "/orders", method = "POST" },
            "INSERT INTO orders VALUES (1, 'new', 10.00, NULL), (2, 'new', 20.00, NULL), (3, 'new', 30.00, NULL)");
        await DashboardData.WriteAsync(s, new { userId = "bob", requestId = "r-b1", route = "/orders/{id}/pay", method = "POST" },
            "UPDATE orders SET status = 'paid', total = 12.50 WHERE id = 1; DELETE FROM orders WHERE id = 3");
        await DashboardData.WriteAsync(s, new { userId = "alice", requestId = "r-a2" }, "UPDATE orders SET note = 'gift wrap' WHERE id = 2");
        await DashboardData.WriteAsync(s, new { userId = "carol", requestId = "r-c1" },
            "INSERT INTO orders SELECT g, 'new', g * 1.5, NULL FROM generate_series(10, 14) g");
        await DashboardData.WriteAsync(s, new { userId = "Zoë 🙂 ユーザー", requestId = "r-u1" }, "INSERT INTO orders VALUES (20, 'new', 1, 'unicode')");
        await DashboardData.WriteAsync(s, new { job = "import" }, "INSERT INTO orders VALUES (30, 'new', 99.00, NULL); INSERT INTO \"we'ird\" VALUES (1, 'x')");
        await DashboardData.WriteAsync(s, new { userId = "mallory", requestId = "r-mallory" }, "UPDATE orders SET status = 'cancelled', total = 0 WHERE id = 30");
        await DashboardData.WriteAsync(s, new { userId = "eve", requestId = "r-eve" },
            "UPDATE orders SET status = 'lost', note = 'eve' WHERE id IN (10, 11); DELETE FROM orders WHERE id = 12");
        await s.Harness.CatchUpAsync();
        // A signed checkpoint of all of it: a change's details say it is verified "in the checkpoint of" its time.
        var dir = Directory.CreateTempSubdirectory("hindsight-dashboard-");
        try
        {
            using var key = SigningKey.Create(Path.Combine(dir.FullName, "signing.key"));
            await new Checkpoints(s.Harness.Source).MakeAsync(await s.Harness.ScalarAsync<string>("SELECT source FROM hindsight.changes LIMIT 1"), key);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Dashboard_sign_in_refuses_a_wrong_key_shows_the_trail_with_the_right_one_and_keeps_it_for_the_tab_only()
    {
        await using var p = await site.OpenAsync();
        await p.GotoAsync("#/changes");
        await p.ShotAsync("01-sign-in");
        await p.Page.GetByLabel("API key").FillAsync(S.AdminKey + "x");
        await p.Page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Expect(p.Page.Locator(".signin-error [role=alert]")).ToContainTextAsync("does not accept this key");
        await Expect(p.Page.Locator("#nav")).ToBeHiddenAsync();
        Assert.Null(await p.Page.EvaluateAsync<string?>("() => sessionStorage.getItem('hindsight.key')"));

        await p.Page.GetByLabel("API key").FillAsync(S.AdminKey);
        await p.Page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        var stored = await S.Harness.ScalarAsync<long>("SELECT count(*) FROM hindsight.changes");
        await Expect(await p.ChangeRowsAsync()).ToHaveCountAsync((int)Math.Min(stored, 50));
        await Expect(p.Page.Locator("#who-name")).ToHaveTextAsync(S.AdminKeyName);
        await Expect(p.Page.Locator("#who-scope")).ToHaveTextAsync("admin");
        await p.ShotAsync("02-trail");

        // The key lives in this tab's sessionStorage only: not in localStorage, a cookie or the URL.
        Assert.Equal(S.AdminKey, await p.Page.EvaluateAsync<string>("() => sessionStorage.getItem('hindsight.key')"));
        Assert.Equal(0, await p.Page.EvaluateAsync<int>("() => localStorage.length"));
        Assert.Equal("", await p.Page.EvaluateAsync<string>("() => document.cookie"));
        Assert.DoesNotContain(S.AdminKey, p.Page.Url, StringComparison.Ordinal);
        Assert.Empty(await p.Page.Context.CookiesAsync());

        await p.Page.ReloadAsync(); // still signed in for the tab's session
        await Expect(p.Page.Locator("#nav")).ToBeVisibleAsync();
        await p.Page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await Expect(p.Page.GetByLabel("API key")).ToBeVisibleAsync();
        Assert.Null(await p.Page.EvaluateAsync<string?>("() => sessionStorage.getItem('hindsight.key')"));
        await p.AssertCleanAsync(401);
    }

    [Fact]
    public async Task Dashboard_filters_the_trail_to_one_users_changes_by_context_key_and_value()
    {
        await using var p = await site.OpenAsync();
        await p.SignInAsync(S.ReadKey);
        await p.FilterByContextAsync("userId", "alice");
        var rows = await p.ChangeRowsAsync();
        // alice wrote 3 inserts and 1 update; PostgreSQL agrees, and only her rows are on screen.
        Assert.Equal(4, await DashboardData.CountAsync(S, """{"userId":"alice"}"""));
        await Expect(rows).ToHaveCountAsync(4);
        Assert.All(await p.Page.Locator("#view tr.change-row .cell-who").AllTextContentsAsync(), who => Assert.Equal("alice", who));
        Assert.Contains("ctxkey=userId", p.Page.Url, StringComparison.Ordinal);
        Assert.Contains("ctxval=alice", p.Page.Url, StringComparison.Ordinal);

        // Narrowed further by operation: her one update.
        await p.Page.GetByLabel("Operation").SelectOptionAsync("UPDATE");
        await p.Page.GetByRole(AriaRole.Button, new() { Name = "Apply filters" }).ClickAsync();
        await Expect(await p.ChangeRowsAsync()).ToHaveCountAsync(1);
        await Expect(p.Page.Locator("#view tr.change-row .cell-what")).ToHaveTextAsync("note: null → gift wrap");

        // The URL is shareable: another tab, signed in, sees the same filter.
        var url = p.Page.Url;
        await using var other = await site.OpenAsync();
        await other.SignInAsync(S.ReadKey, url[url.IndexOf('#', StringComparison.Ordinal)..]);
        await Expect(await other.ChangeRowsAsync()).ToHaveCountAsync(1);
        await p.AssertCleanAsync();
        await other.AssertCleanAsync();
    }

    [Fact]
    public async Task Dashboard_pages_the_trail_with_the_keyset_cursor_and_never_asks_for_everything()
    {
        var ids = (await S.Harness.RowsAsync("SELECT c.id::text AS change FROM hindsight.changes c WHERE c.\"table\" = 'orders' ORDER BY c.id DESC"))
            .Select(r => r[0]).ToList();
        Assert.True(ids.Count is > 10 and <= 20, $"{ids.Count} changes of orders: the test wants two pages of 10");
        await using var p = await site.OpenAsync();
        var asked = new List<string>();
        p.Page.Request += (_, r) => { if (r.Url.Contains("/api/changes", StringComparison.Ordinal)) lock (asked) asked.Add(r.Url); };
        await p.SignInAsync(S.ReadKey, "#/changes?table=orders&limit=10");
        var rows = await p.ChangeRowsAsync();
        async Task<List<string>> ShownAsync(string first)
        {
            await Expect(rows.First).ToHaveAttributeAsync("data-change-id", first);
            return [.. await rows.EvaluateAllAsync<string[]>("rs => rs.map(r => r.dataset.changeId)")];
        }

        Assert.Equal(ids.Take(10), await ShownAsync(ids[0]));
        await Expect(p.Page.Locator("#view .pager .disabled", new() { HasTextString = "Newer" })).ToHaveCountAsync(1);
        await p.Page.GetByRole(AriaRole.Link, new() { Name = "Older →" }).ClickAsync();
        Assert.Equal(ids.Skip(10), await ShownAsync(ids[10]));
        await Expect(p.Page.Locator("#view .pager .disabled", new() { HasTextString = "Older" })).ToHaveCountAsync(1); // the last page
        Assert.Contains($"cursor={ids[9]}", p.Page.Url, StringComparison.Ordinal);
        await p.Page.GetByRole(AriaRole.Link, new() { Name = "← Newer" }).ClickAsync();
        Assert.Equal(ids.Take(10), await ShownAsync(ids[0]));

        // Every read of the trail asked the server for one page, with the keyset cursor: never everything.
        lock (asked)
        {
            Assert.True(asked.Count >= 3, string.Join("\n", asked));
            Assert.All(asked, url => Assert.Contains("limit=10", url, StringComparison.Ordinal));
            Assert.Contains(asked, url => url.Contains($"cursor={ids[9]}", StringComparison.Ordinal));
        }
        await p.AssertCleanAsync();
    }

    [Fact]
    public async Task Dashboard_shows_a_changes_diff_with_the_changed_columns_before_and_after()
    {
        await using var p = await site.OpenAsync();
        await p.SignInAsync(S.ReadKey);
        await p.FilterByContextAsync("requestId", "r-b1");
        var rows = await p.ChangeRowsAsync();
        await Expect(rows).ToHaveCountAsync(2); // bob's payment of order 1 and his deletion of order 3
        var update = rows.Filter(new() { HasTextString = "UPDATE" });
        await update.GetByRole(AriaRole.Button, new() { Name = "Details" }).ClickAsync();
        var details = p.Page.Locator("#view tr.change-details-row:not([hidden])");
        await Expect(details).ToHaveCountAsync(1);
        await Expect(details.Locator("tr.diff-changed")).ToHaveCountAsync(2);
        await Expect(details.Locator("tr[data-column=status] td.diff-before")).ToHaveTextAsync("new");
        await Expect(details.Locator("tr[data-column=status] td.diff-after")).ToHaveTextAsync("paid");
        // numeric(10,2) as PostgreSQL stored it: 12.50, not JavaScript's 12.5.
        await Expect(details.Locator("tr[data-column=total] td.diff-before")).ToHaveTextAsync("10.00");
        await Expect(details.Locator("tr[data-column=total] td.diff-after")).ToHaveTextAsync("12.50");
        // Unchanged columns wait behind a toggle.
        await Expect(details.Locator("tr[data-column=id]")).ToBeHiddenAsync();
        await details.GetByRole(AriaRole.Button, new() { Name = "Show 2 unchanged columns" }).ClickAsync();
        await Expect(details.Locator("tr[data-column=id] td.diff-after")).ToHaveTextAsync("1");
        await Expect(details.Locator("table.kv").First).ToContainTextAsync("r-b1");
        // Its state against the chain, and the newest checkpoint in the header; the proof downloads as the API gives it.
        await Expect(details.Locator(".verification")).ToContainTextAsync("verified in the checkpoint of");
        var keyId = await S.Harness.ScalarAsync<string>("SELECT key_id FROM hindsight.checkpoints");
        var blocks = await S.Harness.ScalarAsync<long>("SELECT blocks FROM hindsight.checkpoints");
        await Expect(p.Page.Locator("#checkpoint")).ToContainTextAsync($"{blocks} block{(blocks == 1 ? "" : "s")} · key {keyId}");
        var download = await p.Page.RunAndWaitForDownloadAsync(() =>
            details.GetByRole(AriaRole.Button, new() { Name = "Download proof" }).ClickAsync());
        var proof = JsonNode.Parse(await File.ReadAllTextAsync(await download.PathAsync()))!;
        Assert.Equal(await update.GetAttributeAsync("data-change-id"), proof["change"]!["id"]!.ToJsonString());
        await p.ShotAsync("03-trail-diff");
        await p.AssertCleanAsync();
    }

    [Fact]
    public async Task Dashboard_record_page_shows_a_rows_history_as_a_timeline()
    {
        await using var p = await site.OpenAsync();
        await p.SignInAsync(S.ReadKey);
        await p.Page.GetByLabel("Table").FillAsync("orders");
        await p.Page.GetByLabel("Primary key").FillAsync("1");
        await p.Page.GetByRole(AriaRole.Button, new() { Name = "Apply filters" }).ClickAsync();
        await (await p.ChangeRowsAsync()).First.GetByRole(AriaRole.Link, new() { Name = "1", Exact = true }).ClickAsync();

        var items = p.Page.Locator("#view ol.timeline > li");
        var versions = await S.Harness.ScalarAsync<long>("SELECT count(*) FROM hindsight.changes WHERE \"table\" = 'orders' AND primary_key = '1'");
        await Expect(items).ToHaveCountAsync((int)versions);
        Assert.Contains("#/record?", p.Page.Url, StringComparison.Ordinal);
        await Expect(p.Page.Locator("#view h1")).ToHaveTextAsync("History of public.orders 1");
        // Newest first: bob's payment, then alice's insert.
        await Expect(items.Nth(0).Locator(".timeline-head")).ToContainTextAsync("UPDATE");
        await Expect(items.Nth(0).Locator(".timeline-who")).ToHaveTextAsync("bob");
        await Expect(items.Nth(0).Locator("tr[data-column=status] td.diff-after")).ToHaveTextAsync("paid");
        await Expect(items.Nth(1).Locator(".timeline-head")).ToContainTextAsync("CREATE");
        await Expect(items.Nth(1).Locator(".timeline-who")).ToHaveTextAsync("alice");
        await Expect(items.Nth(1).Locator("tr[data-column=status] td.diff-after")).ToHaveTextAsync("new");
        await p.ShotAsync("04-record");
        await p.AssertCleanAsync();
    }

    [Fact]
    public async Task Dashboard_as_of_shows_a_row_and_the_table_as_they_were()
    {
        var created = await DashboardData.CommittedAtAsync(S, """{"requestId":"r-a1"}""");
        await using var p = await site.OpenAsync();
        await p.SignInAsync(S.ReadKey);
        await p.Page.GetByRole(AriaRole.Link, new() { Name = "As of" }).ClickAsync();
        await p.Page.GetByLabel("Table").FillAsync("orders");
        await p.Page.GetByLabel("Primary key (optional)").FillAsync("1");
        await p.Page.GetByLabel("Value").FillAsync(created); // the moment alice created it, before bob paid
        await p.Page.GetByRole(AriaRole.Button, new() { Name = "Show" }).ClickAsync();
        var row = p.Page.Locator("#view table.asof");
        await Expect(row.Locator("tr[data-column=status] td")).ToHaveTextAsync("new");
        await Expect(row.Locator("tr[data-column=total] td")).ToHaveTextAsync("10.00");
        await Expect(p.Page.Locator("#view .page-status")).ToContainTextAsync("orders as of");
        await p.ShotAsync("05-as-of-row");

        // The whole table now: the rows PostgreSQL has, no more, no less.
        await S.Harness.CatchUpAsync();
        await p.GotoAsync("#/as-of?table=orders&at=" + Uri.EscapeDataString(DateTime.UtcNow.AddMinutes(1).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture)));
        var keys = p.Page.Locator("#view table.rows tbody tr");
        var expected = (await S.Harness.RowsAsync("SELECT id::text AS key FROM orders")).Select(r => r[0]).ToList();
        await Expect(keys).ToHaveCountAsync(expected.Count);
        var shown = await keys.EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.key)");
        Assert.Equal(expected.Order(), shown.Order());
        await p.ShotAsync("05-as-of-table");

        // Two rows a page: the pages, followed by key, are the table (keyset paging: PostgreSQL's rows in bytewise key order).
        await p.GotoAsync("#/as-of?limit=2&table=orders&at=" + Uri.EscapeDataString(DateTime.UtcNow.AddMinutes(1).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture)));
        var paged = new List<string>();
        for (var pages = 0; ; pages++)
        {
            await Expect(p.Page.Locator("#view .page-status")).ToContainTextAsync("by key");
            paged.AddRange(await keys.EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.key)"));
            Assert.InRange(await keys.CountAsync(), 1, 2);
            var next = p.Page.GetByRole(AriaRole.Link, new() { Name = "Next page →" });
            if (await next.CountAsync() == 0) break;
            Assert.True(pages < 50, "paging did not end");
            var before = paged[^1];
            await next.ClickAsync();
            await Expect(p.Page.Locator("#view .page-status")).ToContainTextAsync($"after {before}");
        }
        Assert.Equal(expected.Order(StringComparer.Ordinal), paged);
        await p.AssertCleanAsync();
    }

    [Fact]
    public async Task Dashboard_revert_as_admin_shows_the_plan_asks_to_confirm_and_restores_the_row()
    {
        var id = await DashboardData.ChangeIdAsync(S, """{"requestId":"r-mallory"}""");
        await using var p = await site.OpenAsync();
        await p.SignInAsync(S.AdminKey);
        await p.FilterByContextAsync("requestId", "r-mallory");
        var rows = await p.ChangeRowsAsync();
        await Expect(rows).ToHaveCountAsync(1);
        await rows.GetByRole(AriaRole.Button, new() { Name = "Details" }).ClickAsync();
        await p.Page.GetByRole(AriaRole.Link, new() { Name = "Revert this change…" }).ClickAsync();

        // The plan first: a dry run that changed nothing.
        await Expect(p.Page.Locator("#plan-title")).ToHaveTextAsync($"Plan: revert change {id}");
        var statements = p.Page.Locator("#view table.statements tbody tr");
        await Expect(statements).ToHaveCountAsync(1);
        await Expect(statements).ToContainTextAsync("UPDATE");
        await Expect(statements).ToContainTextAsync("30");
        await Expect(p.Page.Locator("#view pre.code")).ToContainTextAsync("UPDATE");
        Assert.Equal("cancelled", await S.Harness.ScalarAsync<string>("SELECT status FROM orders WHERE id = 30"));
        await p.ShotAsync("06-revert-plan");

        await p.Page.GetByLabel("Reason (kept in the revert's context)").FillAsync("e2e: undo mallory");
        await p.Page.GetByRole(AriaRole.Button, new() { Name = "Revert…" }).ClickAsync();
        var confirm = p.Page.Locator("#view .confirm");
        await Expect(confirm).ToBeVisibleAsync();
        await Expect(confirm).ToContainTextAsync("1 statement will run in one transaction");
        Assert.Equal("cancelled", await S.Harness.ScalarAsync<string>("SELECT status FROM orders WHERE id = 30")); // not yet
        await confirm.GetByRole(AriaRole.Button, new() { Name = "Confirm revert" }).ClickAsync();
        await Expect(p.Page.Locator("#view .alert-success")).ToContainTextAsync("Reverted.");
        await p.ShotAsync("07-revert-done");

        // The row as it was before mallory, in PostgreSQL itself; the revert carries the key's name and the reason.
        Assert.Equal(["new", "99.00"], (await S.Harness.RowsAsync("SELECT status, total::text FROM orders WHERE id = 30")).Single());
        await S.Harness.CatchUpAsync();
        Assert.Equal(1, await DashboardData.CountAsync(S, $$"""{"apiKey":"{{S.AdminKeyName}}","reason":"e2e: undo mallory"}"""));

        // The same change planned again: already reverted, which is not a conflict to force.
        await p.GotoAsync("#/changes");
        await p.GotoAsync($"#/revert?change={id}");
        await Expect(p.Page.Locator("#plan-title")).ToHaveTextAsync($"Plan: revert change {id}");
        await Expect(p.Page.Locator("#view .already-reverted")).ToContainTextAsync("already reverted by change");
        await Expect(p.Page.Locator("#view .conflicts")).ToHaveCountAsync(0);
        await Expect(p.Page.Locator("#revert-force")).ToHaveCountAsync(0);
        await Expect(p.Page.Locator("#view section.apply")).ToContainTextAsync("nothing to apply");
        await p.AssertCleanAsync();
    }

    [Fact]
    public async Task Dashboard_revert_of_a_request_plans_every_change_it_made_and_restores_them_in_one_transaction()
    {
        const string EveRows = "SELECT id::text, status, total::text, note FROM orders WHERE id BETWEEN 10 AND 12 ORDER BY id";
        var afterEve = await S.Harness.RowsAsync(EveRows);
        await using var p = await site.OpenAsync();
        await p.SignInAsync(S.AdminKey, "#/revert");
        await p.Page.GetByLabel("Revert", new() { Exact = true }).SelectOptionAsync("context");
        await p.Page.GetByLabel("Context key").FillAsync("requestId");
        await p.Page.GetByLabel("Context value").FillAsync("r-eve");
        await p.Page.GetByRole(AriaRole.Button, new() { Name = "Show plan" }).ClickAsync();

        // The plan covers the request's three changes (two updates, one delete) and changes nothing yet.
        await Expect(p.Page.Locator("#plan-title")).ToHaveTextAsync("Plan: revert every change whose context has requestId = r-eve");
        var statements = p.Page.Locator("#view table.statements tbody tr");
        await Expect(statements).ToHaveCountAsync((int)await DashboardData.CountAsync(S, """{"requestId":"r-eve"}"""));
        await Expect(statements.Filter(new() { HasText = "UPDATE" })).ToHaveCountAsync(2);
        await Expect(statements.Filter(new() { HasText = "INSERT" })).ToHaveCountAsync(1);
        Assert.Equal(afterEve, await S.Harness.RowsAsync(EveRows));

        await p.Page.GetByRole(AriaRole.Button, new() { Name = "Revert…" }).ClickAsync();
        var confirm = p.Page.Locator("#view .confirm");
        await Expect(confirm).ToContainTextAsync("3 statements will run in one transaction");
        Assert.Equal(afterEve, await S.Harness.RowsAsync(EveRows)); // not before the confirmation
        await confirm.GetByRole(AriaRole.Button, new() { Name = "Confirm revert" }).ClickAsync();
        await Expect(p.Page.Locator("#view .alert-success")).ToContainTextAsync("Reverted.");

        // The three rows as carol's request left them, computed by PostgreSQL from the same expressions; the revert's own
        // changes are one transaction, attributed to the key.
        var beforeEve = await S.Harness.RowsAsync(
            "SELECT g::text, 'new', (g * 1.5)::numeric(10,2)::text, NULL::text FROM generate_series(10, 12) g ORDER BY g");
        Assert.Equal(beforeEve, await S.Harness.RowsAsync(EveRows));
        await S.Harness.CatchUpAsync();
        var reverted = await S.Harness.RowsAsync(
            """
            SELECT count(*)::text, count(DISTINCT transaction_id)::text FROM hindsight.changes
            WHERE context @> $1::jsonb AND "table" = 'orders' AND primary_key IN ('10', '11', '12')
            """, $$"""{"apiKey":"{{S.AdminKeyName}}"}""");
        Assert.Equal(["3", "1"], reverted.Single());
        await p.AssertCleanAsync();
    }

    [Fact]
    public async Task Dashboard_live_tail_shows_a_change_made_after_it_opened_and_stops_when_left()
    {
        await using var p = await site.OpenAsync();
        await p.SignInAsync(S.ReadKey);
        await p.Page.GetByRole(AriaRole.Link, new() { Name = "Live tail" }).ClickAsync();
        await Expect(p.Page.Locator("#view .stream-state")).ToHaveTextAsync("Live");

        await DashboardData.WriteAsync(S, new { userId = "tail-user" }, "INSERT INTO orders VALUES (50, 'new', 5, 'from the tail test')");
        var row = p.Page.Locator("#view tr.change-row", new() { HasTextString = "tail-user" });
        await Expect(row).ToHaveCountAsync(1, new() { Timeout = 20_000 });
        await Expect(row.Locator(".cell-key")).ToHaveTextAsync("50");
        await Expect(row).ToContainTextAsync("CREATE");
        await p.ShotAsync("08-tail");

        // Leaving the view aborts the stream's request.
        var aborted = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        p.Page.RequestFailed += (_, r) => { if (r.Url.Contains("/api/changes/stream", StringComparison.Ordinal)) aborted.TrySetResult(r.Failure ?? ""); };
        await p.Page.GetByRole(AriaRole.Link, new() { Name = "Audit trail" }).ClickAsync();
        await aborted.Task.WaitAsync(TimeSpan.FromSeconds(10));
        await S.Harness.CatchUpAsync();
        await p.AssertCleanAsync();
    }

    [Fact]
    public async Task Dashboard_trends_chart_draws_the_counts_postgres_holds()
    {
        await S.Harness.CatchUpAsync();
        var expected = (await S.Harness.RowsAsync("SELECT operation, count(*) FROM hindsight.changes GROUP BY operation"))
            .ToDictionary(r => r[0], r => long.Parse(r[1], System.Globalization.CultureInfo.InvariantCulture));
        await using var p = await site.OpenAsync();
        await p.SignInAsync(S.ReadKey, "#/trends?bucket=minute&by=operation&since=all");
        var bars = p.Page.Locator("#view svg.chart rect.bar");
        await Expect(bars.First).ToBeVisibleAsync();
        var drawn = await bars.EvaluateAllAsync<string[][]>("rs => rs.map(r => [r.dataset.group, r.dataset.count])");
        var sums = drawn.GroupBy(d => d[0]).ToDictionary(g => g.Key, g => g.Sum(d => long.Parse(d[1], System.Globalization.CultureInfo.InvariantCulture)));
        Assert.Equal(expected.OrderBy(kv => kv.Key), sums.OrderBy(kv => kv.Key));
        await Expect(p.Page.Locator("#view .legend")).ToContainTextAsync("UPDATE");
        await p.ShotAsync("09-trends");
        await p.AssertCleanAsync();
    }
}
