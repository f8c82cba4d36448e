using Hindsight.Cli;
using Hindsight.Server;
using Hindsight.Server.Auth;

namespace Hindsight.Demo;

/// <summary>
/// The demo's last step: the dashboard and the API over the demo's private database, on 127.0.0.1 (a free port unless
/// <c>--urls</c> says otherwise), with an admin key made for this run only, until Ctrl+C.
/// </summary>
internal static class DemoDashboard
{
    /// <summary>Where the demo serves when <c>--urls</c> is not given: this machine only, any free port.</summary>
    public const string DefaultUrl = "http://127.0.0.1:0";

    /// <summary>
    /// Serves until <c>ct</c> is cancelled (Ctrl+C), then stops; the capture worker keeps running meanwhile. <c>urls</c>
    /// empty means <see cref="DefaultUrl"/>; <c>say</c> writes one line of the demo's progress (stdout with the table format,
    /// stderr otherwise).
    /// </summary>
    public static async Task ServeAsync(string connectionString, string slot, string publication, IReadOnlyList<string> urls, bool verbose,
        Action<string> say, CancellationToken ct)
    {
        // A key for this run only: it is printed once, its hash lives in this process, and both go when the demo stops.
        var key = ApiKeys.Generate("demo-admin", ApiKeyScope.Admin);
        await using var app = HindsightServer.Build(api =>
        {
            api.SourceConnectionString = connectionString;
            api.Slot = slot;
            api.Publication = publication;
            api.Keys.Add(key.Entry);
        }, urls.Count > 0 ? urls : [DefaultUrl], logging => ServeCommand.Logging(logging, verbose));
        await app.StartAsync(ct);
        var address = HindsightServer.Addresses(app).FirstOrDefault() ?? "?";
        say($"the dashboard is serving the demo's data at {address}/");
        say($"sign in with this admin key (made for this run only): {key.Key}");
        say("stop with Ctrl+C (the private PostgreSQL server and its data go with it)");
        try { await Task.Delay(Timeout.Infinite, ct); }
        catch (OperationCanceledException) { /* Ctrl+C: the normal end of the demo */ }
        using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await app.StopAsync(grace.Token);
    }
}
