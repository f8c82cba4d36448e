using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Xunit;

namespace Hindsight.Tests.Server.Dashboard;

/// <summary>
/// One browser page on the dashboard, watching for what must never happen: console errors (CSP violations show up
/// there too), uncaught script errors, dialogs (an injected <c>alert</c>), answers of 500 or above, and
/// <c>securitypolicyviolation</c> events recorded by an init script.
/// </summary>
public sealed partial class DashboardPage : IAsyncDisposable
{
    private readonly IBrowserContext _context;
    private readonly List<string> _consoleErrors = [];
    private readonly List<string> _problems = [];
    private readonly object _gate = new();

    private DashboardPage(IBrowserContext context, IPage page)
    {
        _context = context;
        Page = page;
    }

    /// <summary>The page.</summary>
    public IPage Page { get; }

    /// <summary>A new context and page at the dashboard's origin.</summary>
    public static async Task<DashboardPage> OpenAsync(IBrowser browser, Uri baseAddress)
    {
        var context = await browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = baseAddress.ToString(),
            ViewportSize = new ViewportSize { Width = 1400, Height = 900 },
        });
        context.SetDefaultTimeout(15_000);
        // Runs before the page's own scripts; an init script is not subject to the page's CSP.
        await context.AddInitScriptAsync(
            "document.addEventListener('securitypolicyviolation', e => { (window.__cspViolations = window.__cspViolations || []).push(e.violatedDirective + ' ' + e.blockedURI); });");
        var page = await context.NewPageAsync();
        var p = new DashboardPage(context, page);
        page.Console += (_, m) =>
        {
            if (m.Type == "error" || m.Text.Contains("Content Security Policy", StringComparison.Ordinal))
                lock (p._gate) p._consoleErrors.Add(m.Text);
        };
        page.PageError += (_, e) => { lock (p._gate) p._problems.Add("page error: " + e); };
        page.Dialog += async (_, d) =>
        {
            lock (p._gate) p._problems.Add($"dialog ({d.Type}): {d.Message}");
            await d.DismissAsync();
        };
        page.Response += (_, r) =>
        {
            if (r.Status >= 500) lock (p._gate) p._problems.Add($"HTTP {r.Status} from {r.Url}");
        };
        return p;
    }

    /// <summary>Opens the dashboard at a route (<c>#/changes?…</c>), loading the page if it is not loaded yet.</summary>
    public async Task GotoAsync(string hash)
    {
        if (Page.Url.StartsWith("http", StringComparison.Ordinal))
            await Page.EvaluateAsync("h => { location.hash = h; }", hash);
        else
            await Page.GotoAsync("/" + hash);
    }

    /// <summary>Signs in with <paramref name="key"/> through the form and waits for the audit trail.</summary>
    public async Task SignInAsync(string key, string hash = "#/changes")
    {
        await GotoAsync(hash);
        await Page.GetByLabel("API key").FillAsync(key);
        await Page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Assertions.Expect(Page.Locator("#nav")).ToBeVisibleAsync();
    }

    /// <summary>The change rows of the table on screen, once loading is over.</summary>
    public async Task<ILocator> ChangeRowsAsync()
    {
        await Assertions.Expect(Page.Locator("#view .results p.muted", new() { HasTextString = "Loading" })).ToHaveCountAsync(0);
        return Page.Locator("#view tr.change-row");
    }

    /// <summary>Filters the audit trail by a context key and value through the form.</summary>
    public async Task FilterByContextAsync(string key, string value)
    {
        await Page.GetByLabel("Context key").FillAsync(key);
        await Page.GetByLabel("Context value").FillAsync(value);
        await Page.GetByRole(AriaRole.Button, new() { Name = "Apply filters" }).ClickAsync();
    }

    /// <summary>
    /// Fails on anything that must never happen: script errors, dialogs, 5xx answers, CSP violations, and console errors
    /// other than the browser's own note of an HTTP status this test expects (a 401 for a wrong key, a 403…).
    /// </summary>
    public async Task AssertCleanAsync(params int[] expectedStatuses)
    {
        var violations = await Page.EvaluateAsync<string[]>("() => window.__cspViolations || []");
        Assert.Empty(violations);
        List<string> errors, problems;
        lock (_gate)
        {
            errors = [.. _consoleErrors];
            problems = [.. _problems];
        }
        Assert.Empty(problems);
        var unexpected = errors.Where(e =>
        {
            var m = FailedResource().Match(e);
            return !m.Success || !expectedStatuses.Contains(int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture));
        }).ToList();
        Assert.True(unexpected.Count == 0, "console errors:\n" + string.Join("\n", unexpected));
    }

    /// <summary>A full-page screenshot into <c>$HINDSIGHT_DASH_SHOTS</c> when that is set (for people checking the layout).</summary>
    public async Task ShotAsync(string name)
    {
        var folder = Environment.GetEnvironmentVariable("HINDSIGHT_DASH_SHOTS");
        if (string.IsNullOrEmpty(folder)) return;
        Directory.CreateDirectory(folder);
        await Page.ScreenshotAsync(new PageScreenshotOptions { Path = System.IO.Path.Combine(folder, name + ".png"), FullPage = true });
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync() => await _context.CloseAsync();

    [GeneratedRegex(@"^Failed to load resource: the server responded with a status of (\d{3})")]
    private static partial Regex FailedResource();
}
