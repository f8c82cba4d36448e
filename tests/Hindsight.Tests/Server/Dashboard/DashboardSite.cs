using Hindsight.Tests.Server.Api;
using Hindsight.Tests.Infrastructure;
using Microsoft.Playwright;
using Xunit;

namespace Hindsight.Tests.Server.Dashboard;

/// <summary>
/// What one dashboard test class shares: the real server (<see cref="ApiServer"/>: Kestrel, a capturing worker, a read
/// and an admin key) over data its class seeds once, and one headless Chromium. A class fixture cannot take the
/// PostgreSQL fixture, so the first test starts it (<see cref="StartAsync"/>); xunit disposes it after the class.
/// </summary>
public sealed class DashboardSite : IAsyncLifetime
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private IPlaywright? _playwright;
    private IBrowser? _browser;
    private ApiServer? _server;

    /// <summary>The server; valid after <see cref="StartAsync"/>.</summary>
    public ApiServer Server => _server ?? throw new InvalidOperationException("the dashboard site is not started");

    /// <summary>Starts the server over <paramref name="schema"/>, seeds it once, and launches Chromium; later calls return at once.</summary>
    public async Task StartAsync(PostgresFixture fixture, string schema, Func<ApiServer, Task> seed)
    {
        await _gate.WaitAsync();
        try
        {
            if (_browser is not null) return;
            var chromium = Chromium.RequirePath();
            if (_server is null)
            {
                var server = await ApiServer.StartAsync(fixture, schema: schema);
                try { await seed(server); }
                catch
                {
                    await server.DisposeAsync();
                    throw;
                }
                _server = server;
            }
            _playwright ??= await Playwright.CreateAsync();
            _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = chromium, Headless = true });
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>A fresh browser context (own sessionStorage) and page on the dashboard, not signed in.</summary>
    public Task<DashboardPage> OpenAsync() =>
        DashboardPage.OpenAsync(_browser ?? throw new InvalidOperationException("the dashboard site is not started"), Server.BaseAddress);

    /// <inheritdoc />
    public Task InitializeAsync() => Task.CompletedTask;

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        if (_browser is not null) await _browser.CloseAsync();
        _playwright?.Dispose();
        if (_server is not null) await _server.DisposeAsync();
        _gate.Dispose();
    }
}

/// <summary>Where the tests find Chromium: Debian's <c>chromium</c> package, or <c>$HINDSIGHT_CHROMIUM</c>.</summary>
public static class Chromium
{
    /// <summary>The browser's path.</summary>
    public static string Path =>
        Environment.GetEnvironmentVariable("HINDSIGHT_CHROMIUM") is { Length: > 0 } path ? path : "/usr/bin/chromium";

    /// <summary>The browser's path; fails the test (never skips it) when the browser is missing.</summary>
    public static string RequirePath() =>
        File.Exists(Path)
            ? Path
            : throw new InvalidOperationException(
                $"the dashboard's end-to-end tests need headless Chromium at {Path}, which is missing: install Debian's package " +
                "(apt-get install chromium; .ci/run does) or set HINDSIGHT_CHROMIUM to a Chromium binary");
}
