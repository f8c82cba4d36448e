using Hindsight.Server;
using Hindsight.Tests.Infrastructure;
using Hindsight.Tests.Server.Api;
using Microsoft.Playwright;
using Xunit;

namespace Hindsight.Tests.Server.Dashboard;

/// <summary>
/// The dashboard inside an app that puts the API behind its own sign-in and policies: no key form, the app's user and
/// their scope in the header, reverts offered to the admin policy's users only, and a plain message when not signed in.
/// </summary>
[Collection(PostgresCollection.Name)]
[Trait("Category", "Browser")]
public sealed class DashboardHostSignInTests(PostgresFixture fixture)
{
    [Fact]
    public async Task The_dashboard_signs_in_with_the_app_s_own_sign_in()
    {
        await using var h = await CaptureHarness.CreateAsync(fixture, ApiServer.Schema);
        h.StartWorker();
        await h.ExecuteAsync("BEGIN; SELECT pg_logical_emit_message(true, 'hindsight', '{\"userId\":\"alice\"}'); " +
                             "INSERT INTO orders VALUES (1, 'new', 10), (2, 'new', 20); UPDATE orders SET status = 'paid' WHERE id = 1; COMMIT;");
        await h.CatchUpAsync();
        await using var app = ApiHostPolicyTests.Build(h, url: "http://127.0.0.1:0");
        await app.StartAsync();
        var baseAddress = new Uri(HindsightServer.Addresses(app).Single());
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = Chromium.RequirePath(), Headless = true });

        async Task<DashboardPage> OpenAs(string? user)
        {
            var page = await DashboardPage.OpenAsync(browser, baseAddress);
            if (user is not null)
                await page.Page.Context.AddCookiesAsync([new Cookie { Name = "app-user", Value = Uri.EscapeDataString(user), Url = baseAddress.ToString() }]);
            await page.GotoAsync("#/changes");
            return page;
        }

        await using (var ops = await OpenAs("u-42|Olga|ops"))
        {
            await Assertions.Expect(await ops.ChangeRowsAsync()).ToHaveCountAsync(3); // waits for the view to draw
            await Assertions.Expect(ops.Page.Locator("#who-name")).ToHaveTextAsync("Olga");
            await Assertions.Expect(ops.Page.Locator("#who-scope")).ToHaveTextAsync("admin");
            await Assertions.Expect(ops.Page.Locator("#sign-out")).ToBeHiddenAsync(); // the app's sign-in is the app's to end
            await Assertions.Expect(ops.Page.Locator("#nav a[data-admin]")).ToBeVisibleAsync();
            await Assertions.Expect(ops.Page.GetByLabel("API key")).ToHaveCountAsync(0);
            await ops.AssertCleanAsync();
        }
        await using (var support = await OpenAs("u-7|Sam|support"))
        {
            await Assertions.Expect(await support.ChangeRowsAsync()).ToHaveCountAsync(3);
            await Assertions.Expect(support.Page.Locator("#who-scope")).ToHaveTextAsync("read");
            await Assertions.Expect(support.Page.Locator("#nav a[data-admin]")).ToBeHiddenAsync();
            await support.AssertCleanAsync();
        }
        await using (var nobody = await OpenAs(null))
        {
            await Assertions.Expect(nobody.Page.Locator("#view")).ToContainTextAsync("sign in to the application first");
            await Assertions.Expect(nobody.Page.GetByLabel("API key")).ToHaveCountAsync(0);
            await nobody.AssertCleanAsync(401);
        }
        await app.StopAsync();
    }
}
