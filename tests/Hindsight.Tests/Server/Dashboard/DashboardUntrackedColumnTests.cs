using Hindsight.Tests.Server.Api;
using Hindsight.Tests.Infrastructure;
using Microsoft.Playwright;
using Xunit;
using static Microsoft.Playwright.Assertions;

namespace Hindsight.Tests.Server.Dashboard;

/// <summary>The dashboard's as-of marks columns that are not tracked, in headless Chromium over a real server and PostgreSQL.</summary>
[Collection(PostgresCollection.Name)]
[Trait("Category", "Browser")]
public sealed class DashboardUntrackedColumnTests(PostgresFixture fixture, DashboardSite site) : IClassFixture<DashboardSite>, IAsyncLifetime
{
    private const string Schema = "CREATE TABLE g (id int PRIMARY KEY, a int, b int GENERATED ALWAYS AS (a * 2) STORED);";

    private ApiServer S => site.Server;

    public Task InitializeAsync() => site.StartAsync(fixture, Schema, async s =>
    {
        await s.Harness.ExecuteAsync("INSERT INTO g (id, a) VALUES (1, 21), (2, 5)");
        await s.Harness.CatchUpAsync();
    });

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Dashboard_as_of_marks_generated_columns_as_not_tracked()
    {
        var publishes = await S.Harness.ScalarAsync<int>("SELECT current_setting('server_version_num')::int") >= 180000;
        await using var p = await site.OpenAsync();
        await p.SignInAsync(S.ReadKey);
        var at = Uri.EscapeDataString(DateTime.UtcNow.AddMinutes(1).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture));

        await p.GotoAsync($"#/as-of?table=g&key=1&at={at}");
        var row = p.Page.Locator("#view table.asof");
        await Expect(row.Locator("tr[data-column=a] td")).ToHaveTextAsync("21");
        if (publishes)
        {
            // PostgreSQL 18 publishes stored generated columns: the value PostgreSQL computed, as data.
            await Expect(row.Locator("tr[data-column=b] td")).ToHaveTextAsync(await S.Harness.ScalarAsync<string>("SELECT b::text FROM g WHERE id = 1"));
            return;
        }
        await Expect(row.Locator("tr[data-column=b] td [data-untracked=generated]")).ToHaveTextAsync("not tracked: generated");
        await Expect(p.Page.Locator("#view .alert-warning").Last).ToContainTextAsync("b (generated");
        await p.ShotAsync("as-of-generated-row");

        await p.GotoAsync($"#/as-of?table=g&at={at}");
        var cells = p.Page.Locator("#view table.rows tbody [data-untracked=generated]");
        await Expect(cells).ToHaveCountAsync(2); // one per row: no value shown for b
        await Expect(p.Page.Locator("#view table.rows thead")).ToContainTextAsync("b");
    }
}
