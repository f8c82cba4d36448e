using Hindsight.Tests.Server.Api;
using Hindsight.Tests.Infrastructure;
using Microsoft.Playwright;
using Xunit;
using static Microsoft.Playwright.Assertions;

namespace Hindsight.Tests.Server.Dashboard;

/// <summary>
/// The dashboard against hostile data and hostile users, in headless Chromium: markup in values, keys and column names
/// stays text; filters cannot widen what is read; a read key is offered no revert and its forced attempt is refused
/// with the server's 403. One browser and one set of data for the class.
/// </summary>
[Collection(PostgresCollection.Name)]
[Trait("Category", "Browser")]
public sealed class DashboardSecurityTests(PostgresFixture fixture, DashboardSite site) : IClassFixture<DashboardSite>, IAsyncLifetime
{
    private const string Script = "<script>window.__pwned=1</script>";
    private const string Image = "<img src=x onerror=\"window.__pwned=1\">";
    private const string Unicode = "Zoë 🙂 ユーザー";

    private const string Schema =
        """
        CREATE TABLE orders (id int PRIMARY KEY, status text, total numeric(10,2), note text);
        CREATE TABLE notes (id text PRIMARY KEY, "<b onmouseover=window.__pwned=1>title</b>" text, body text);
        """;

    private ApiServer S => site.Server;

    public Task InitializeAsync() => site.StartAsync(fixture, Schema, SeedAsync);

    public Task DisposeAsync() => Task.CompletedTask;

    private static async Task SeedAsync(ApiServer s)
    {
        // Markup in values, in a primary key, in a column name and in the context; then 100 kB of text.
        await DashboardData.WriteAsync(s, new { userId = Image, requestId = Script },
            $"INSERT INTO orders VALUES (1, '{Script}', 1, '{Image.Replace("'", "''", StringComparison.Ordinal)}'); " +
            $"INSERT INTO notes VALUES ('{Image.Replace("'", "''", StringComparison.Ordinal)}', '{Script}', '<i>body</i>')");
        await DashboardData.WriteAsync(s, new { userId = "longtext" }, "UPDATE orders SET note = repeat('0123456789', 10240) WHERE id = 1");
        await DashboardData.WriteAsync(s, new { userId = "alice" }, "INSERT INTO orders VALUES (2, 'new', 2, NULL), (3, 'new', 3, NULL)");
        await DashboardData.WriteAsync(s, new { userId = Unicode }, "INSERT INTO orders VALUES (4, 'new', 4, 'unicode')");
        await DashboardData.WriteAsync(s, new { userId = "eve", requestId = "r-eve" }, "UPDATE orders SET status = 'refunded' WHERE id = 2");
        await s.Harness.CatchUpAsync();
    }

    /// <summary>Nothing the page drew from data ran or became an element.</summary>
    private static async Task AssertInertAsync(DashboardPage p)
    {
        Assert.True(await p.Page.EvaluateAsync<bool>("() => window.__pwned === undefined"), "an injected script ran");
        Assert.Equal(0, await p.Page.Locator("#view img, #view script, #view b, #view i, #view [onerror], #view [onmouseover]").CountAsync());
        Assert.Equal(1, await p.Page.EvaluateAsync<int>("() => document.scripts.length")); // the dashboard's own module only
    }

    [Fact]
    public async Task Dashboard_renders_markup_and_100_kB_values_as_inert_readable_text()
    {
        await using var p = await site.OpenAsync();
        await p.SignInAsync(S.ReadKey);
        var rows = await p.ChangeRowsAsync();
        // The user id holding an <img> shows as the text it is.
        await Expect(rows.Locator(".cell-who", new() { HasTextString = Image })).ToHaveCountAsync(2);
        await AssertInertAsync(p);

        // The row's history: the <script> value and the 100 kB note, clamped with a toggle.
        await p.GotoAsync("#/record?table=orders&key=1");
        var items = p.Page.Locator("#view ol.timeline > li");
        await Expect(items).ToHaveCountAsync(2);
        await Expect(items.Nth(1).Locator("tr[data-column=status] td.diff-after")).ToHaveTextAsync(Script);
        await Expect(items.Nth(1).Locator("tr[data-column=note] td.diff-after")).ToHaveTextAsync(Image);
        var note = items.Nth(0).Locator("tr[data-column=note] td.diff-after");
        var toggle = note.GetByRole(AriaRole.Button, new() { Name = "Show all (102,400 characters)" });
        await Expect(toggle).ToBeVisibleAsync();
        Assert.True((await note.Locator(".value-text").TextContentAsync())!.Length < 1000);
        await toggle.ClickAsync();
        Assert.Equal(string.Concat(Enumerable.Repeat("0123456789", 10240)), await note.Locator(".value-text").TextContentAsync());
        await p.ShotAsync("10-xss-record");
        await AssertInertAsync(p);

        // A key and a column name holding markup, in another table.
        await p.GotoAsync("#/changes?table=notes");
        var note2 = await p.ChangeRowsAsync();
        await Expect(note2).ToHaveCountAsync(1);
        await Expect(note2.Locator(".cell-key")).ToHaveTextAsync(Image);
        await note2.GetByRole(AriaRole.Button, new() { Name = "Details" }).ClickAsync();
        await Expect(p.Page.Locator("#view tr[data-column='<b onmouseover=window.__pwned=1>title</b>'] th")).ToContainTextAsync("<b onmouseover=window.__pwned=1>title</b>");
        await note2.Locator(".cell-key a").ClickAsync(); // the record page of a key that is markup
        await Expect(p.Page.Locator("#view h1")).ToHaveTextAsync($"History of public.notes {Image}");
        await Expect(p.Page.Locator("#view ol.timeline > li")).ToHaveCountAsync(1);
        await p.ShotAsync("11-xss-markup-key");
        await AssertInertAsync(p);
        await p.AssertCleanAsync();
    }

    [Fact]
    public async Task Dashboard_hostile_filter_input_returns_no_extra_rows_and_no_server_error()
    {
        var orders = await S.Harness.ScalarAsync<long>("SELECT count(*) FROM orders");
        await using var p = await site.OpenAsync();
        await p.SignInAsync(S.ReadKey);
        foreach (var hostile in new[] { "' OR 1=1 --", "%", "*", "alice' OR '1'='1", "\"}, \"userId\": {\"$ne\": 1}", new string('A', 3000) })
        {
            await p.FilterByContextAsync("userId", hostile);
            await Expect(await p.ChangeRowsAsync()).ToHaveCountAsync(0);
            await Expect(p.Page.Locator("#view .results")).ToContainTextAsync("No changes match these filters.");
        }
        // A hostile context key, primary key and table name: nothing matches, nothing breaks.
        await p.FilterByContextAsync("userId' OR 1=1 --", "alice");
        await Expect(await p.ChangeRowsAsync()).ToHaveCountAsync(0);
        await p.GotoAsync("#/changes?key=" + Uri.EscapeDataString("1 OR 1=1"));
        await Expect(p.Page.Locator("#view .results")).ToContainTextAsync("No changes match these filters.");
        await p.GotoAsync("#/changes?table=" + Uri.EscapeDataString("orders; DROP TABLE orders; --"));
        await Expect(p.Page.Locator("#view .results")).ToContainTextAsync("No changes match these filters.");
        // An unbalanced quote is a clear 400, shown as the server's words.
        await p.GotoAsync("#/changes?table=" + Uri.EscapeDataString("\"orders"));
        await Expect(p.Page.Locator("#view .alert-error")).ToContainTextAsync("unbalanced double quote");
        // Unicode is a value like any other: exactly that user's one change.
        await p.GotoAsync("#/changes");
        await p.FilterByContextAsync("userId", Unicode);
        await Expect(await p.ChangeRowsAsync()).ToHaveCountAsync(1);
        await Expect(p.Page.Locator("#view tr.change-row .cell-who")).ToHaveTextAsync(Unicode);
        // Far too long for one request line: refused with a message, never a 500.
        await p.FilterByContextAsync("userId", new string('B', 40_000));
        await Expect(p.Page.Locator("#view .results .alert-error")).ToContainTextAsync("too long");

        Assert.Equal(orders, await S.Harness.ScalarAsync<long>("SELECT count(*) FROM orders"));
        await p.AssertCleanAsync(400, 414, 431);
    }

    [Fact]
    public async Task Dashboard_read_key_is_offered_no_revert_and_a_forced_attempt_shows_the_servers_403()
    {
        var id = await DashboardData.ChangeIdAsync(S, """{"requestId":"r-eve"}""");
        await using var p = await site.OpenAsync();
        await p.SignInAsync(S.ReadKey);
        await Expect(p.Page.Locator("#nav a[data-view=revert]")).ToBeHiddenAsync();
        await p.FilterByContextAsync("requestId", "r-eve");
        var rows = await p.ChangeRowsAsync();
        await rows.GetByRole(AriaRole.Button, new() { Name = "Details" }).ClickAsync();
        await Expect(p.Page.Locator("#view .change-actions").First).ToContainTextAsync("Row history");
        await Expect(p.Page.Locator("#view .change-actions a", new() { HasTextString = "Revert" })).ToHaveCountAsync(0);

        // The revert page by its URL: the plan (a dry run is allowed to read keys), and no way to apply it.
        await p.GotoAsync($"#/revert?change={id}");
        await Expect(p.Page.Locator("#view table.statements tbody tr")).ToHaveCountAsync(1);
        await Expect(p.Page.Locator("#view .apply")).ToContainTextAsync("may plan reverts but not apply them");
        await Expect(p.Page.GetByRole(AriaRole.Button, new() { Name = "Revert…" })).ToHaveCountAsync(0);
        await p.ShotAsync("12-read-key-revert");
        await p.AssertCleanAsync();

        // A tampered page that believes the read key is admin: the server still refuses, and the page says so.
        await using var forced = await site.OpenAsync();
        await forced.Page.RouteAsync("**/api/session", route => route.FulfillAsync(new RouteFulfillOptions
        {
            Status = 200, ContentType = "application/json", Body = """{"name":"reader","scope":"admin"}""",
        }));
        await forced.SignInAsync(S.ReadKey, $"#/revert?change={id}");
        await forced.Page.GetByRole(AriaRole.Button, new() { Name = "Revert…" }).ClickAsync();
        await forced.Page.GetByRole(AriaRole.Button, new() { Name = "Confirm revert" }).ClickAsync();
        var error = forced.Page.Locator("#view .outcome .alert-error");
        await Expect(error).ToContainTextAsync("Forbidden");
        await Expect(error).ToContainTextAsync("reverting needs a key with scope admin");
        await forced.ShotAsync("13-forced-revert-403");
        Assert.Equal("refunded", await S.Harness.ScalarAsync<string>("SELECT status FROM orders WHERE id = 2"));
        await forced.AssertCleanAsync(403);
    }
}
