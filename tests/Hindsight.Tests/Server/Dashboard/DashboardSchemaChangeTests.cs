using Hindsight.Tests.Server.Api;
using Hindsight.Tests.Infrastructure;
using Xunit;
using static Microsoft.Playwright.Assertions;

namespace Hindsight.Tests.Server.Dashboard;

/// <summary>
/// A row's history in the dashboard shows its table's schema changes between its versions, in headless Chromium over a
/// real server and PostgreSQL: what each did, its statement exactly as sent (markup in it stays text), who ran it and
/// as which role.
/// </summary>
[Collection(PostgresCollection.Name)]
[Trait("Category", "Browser")]
public sealed class DashboardSchemaChangeTests(PostgresFixture fixture, DashboardSite site) : IClassFixture<DashboardSite>, IAsyncLifetime
{
    private const string Schema = "CREATE TABLE person (id int PRIMARY KEY, email text, age int);";

    private const string Rename = "ALTER TABLE person RENAME COLUMN email TO contact_email";

    // Markup in a comment and in the default: both must show as the characters they are.
    private const string AddColumn = "/* <script>window.__pwned=1</script> it's \"q\" ü */ ALTER TABLE person ADD COLUMN note text DEFAULT '<b>x</b>'";

    private ApiServer S => site.Server;

    public Task InitializeAsync() => site.StartAsync(fixture, Schema, async s =>
    {
        await DashboardData.WriteAsync(s, new { userId = "writer" }, "INSERT INTO person VALUES (1, 'a@x', 30)");
        await s.MigrateAsync("""{"userId":"alice","migration":"20261203_Rename"}""", Rename, AddColumn);
        await DashboardData.WriteAsync(s, new { userId = "editor" }, "UPDATE person SET contact_email = 'b@x' WHERE id = 1");
        await s.Harness.CatchUpAsync();
    });

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Dashboard_record_page_shows_the_tables_schema_changes_between_the_versions_as_text()
    {
        var role = await S.Harness.ScalarAsync<string>("SELECT session_user::text");
        await using var p = await site.OpenAsync();
        await p.SignInAsync(S.ReadKey);
        await p.GotoAsync("#/record?table=person&key=1");

        // Newest first: the update, the migration's two commands (the later first), the insert.
        var items = p.Page.Locator("#view ol.timeline > li");
        await Expect(items).ToHaveCountAsync(4);
        await Expect(items.Nth(0).Locator(".timeline-who")).ToHaveTextAsync("editor");
        await Expect(items.Nth(3).Locator(".timeline-who")).ToHaveTextAsync("writer");
        await Expect(p.Page.Locator("#view .page-status")).ToContainTextAsync("2 versions and 2 schema changes of the table");

        var rename = items.Nth(2);
        await Expect(rename).ToHaveClassAsync(new System.Text.RegularExpressions.Regex("timeline-schema"));
        await Expect(rename.Locator(".schema-effects li")).ToHaveTextAsync(["column email renamed to contact_email"]);
        await Expect(rename.Locator(".badge")).ToHaveTextAsync("ALTER TABLE");
        await Expect(rename.Locator(".timeline-who")).ToHaveTextAsync("by alice");
        await Expect(rename.Locator(".schema-migration")).ToHaveTextAsync("migration 20261203_Rename");
        await Expect(rename.Locator(".schema-role")).ToHaveTextAsync($"role {role}");
        await Expect(rename.Locator(".schema-statement .value")).ToHaveTextAsync(Rename);

        var add = items.Nth(1);
        await Expect(add.Locator(".schema-effects li")).ToHaveTextAsync(["column note added (text, default '<b>x</b>'::text)"]);
        await Expect(add.Locator(".schema-statement .value")).ToHaveTextAsync(AddColumn);
        await add.Locator("summary", new() { HasTextString = "Columns after this change" }).ClickAsync();
        await Expect(add.Locator("table.schema-columns tr[data-column=note] td").Nth(4)).ToHaveTextAsync("'<b>x</b>'::text");
        await p.ShotAsync("20-record-schema-changes");

        // Nothing drawn from the statement or the default ran or became an element.
        Assert.True(await p.Page.EvaluateAsync<bool>("() => window.__pwned === undefined"), "an injected script ran");
        Assert.Equal(0, await p.Page.Locator("#view b, #view script").CountAsync());
        await p.AssertCleanAsync();
    }
}
