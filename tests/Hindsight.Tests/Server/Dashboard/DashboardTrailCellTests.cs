using Hindsight.Tests.Infrastructure;
using Hindsight.Tests.Server.Api;
using Microsoft.Playwright;
using Xunit;
using static Microsoft.Playwright.Assertions;

namespace Hindsight.Tests.Server.Dashboard;

/// <summary>The trail's cells as a new user found them: a jsonb change shown by path, table names that wrap whole.</summary>
[Collection(PostgresCollection.Name)]
[Trait("Category", "Browser")]
public sealed class DashboardTrailCellTests(PostgresFixture fixture, DashboardSite site) : IClassFixture<DashboardSite>, IAsyncLifetime
{
    private const string Schema = "CREATE TABLE order_line_items_archive (id int PRIMARY KEY, status text, details jsonb);";

    private ApiServer S => site.Server;

    public Task InitializeAsync() => site.StartAsync(fixture, Schema, async s =>
    {
        await s.Harness.ExecuteAsync("""INSERT INTO order_line_items_archive VALUES (1, 'new', '{"customer": {"id": 7}, "note": "x"}')""");
        await s.Harness.ExecuteAsync("""UPDATE order_line_items_archive SET details = (details || '{"invoice": "INV-1"}'::jsonb) - 'note' WHERE id = 1""");
        await s.Harness.CatchUpAsync();
    });

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Dashboard_trail_shows_jsonb_changes_by_path_and_keeps_table_names_whole()
    {
        await using var p = await site.OpenAsync();
        await p.Page.SetViewportSizeAsync(760, 900); // narrow: the table column has to wrap
        await p.SignInAsync(S.ReadKey);
        var rows = await p.ChangeRowsAsync();
        await Expect(rows).ToHaveCountAsync(2);
        var update = rows.Filter(new() { HasTextString = "UPDATE" });
        await Expect(update.Locator(".cell-what")).ToHaveTextAsync("details.invoice: (none) → INV-1; details.note: x → (none)");

        // Each part of the name between "_" stays on one line: a range over its letters has one box.
        var broken = await update.Locator(".cell-table").EvaluateAsync<string[]>(
            """
            cell => {
              const text = cell.textContent;
              const broken = [];
              const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
              for (let node = walker.nextNode(); node; node = walker.nextNode()) {
                const range = document.createRange();
                range.selectNodeContents(node);
                const lines = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
                if (lines.size > 1) broken.push(node.textContent);
              }
              return broken;
            }
            """);
        Assert.Empty(broken);
        var lines = await update.Locator(".cell-table").EvaluateAsync<int>(
            "cell => { const r = document.createRange(); r.selectNodeContents(cell); return new Set([...r.getClientRects()].map(b => Math.round(b.top))).size; }");
        Assert.True(lines > 1, "the viewport should be narrow enough for the name to wrap (at its underscores)");
        await p.ShotAsync("trail-jsonb-path-and-table-name");
        await p.AssertCleanAsync();
    }
}
