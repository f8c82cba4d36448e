using System.Diagnostics;
using System.Globalization;
using System.Net;
using Hindsight.Hosting;
using Hindsight.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using Xunit;
using Xunit.Abstractions;

namespace Hindsight.Tests.Hosting;

/// <summary>Settings that stop a host at start, each naming its key; no server is needed to refuse them.</summary>
[Trait("Category", "Fast")]
public sealed class HostingOptionsTests
{
    internal static IHost Build(IDictionary<string, string?> settings, ILoggerFactory? logs = null)
    {
        var builder = new HostApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(settings);
        if (logs is not null) builder.Services.AddSingleton(logs);
        builder.Services.AddHindsightCapture(builder.Configuration.GetSection("Hindsight"));
        return builder.Build();
    }

    [Fact]
    public async Task An_unknown_key_stops_the_start_with_its_name()
    {
        using var host = Build(new Dictionary<string, string?>
        {
            ["Hindsight:SourceConnectionString"] = "Host=nowhere", ["Hindsight:Slott"] = "x",
        });
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => host.StartAsync());
        Assert.Contains("'Slott'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_source_and_bad_values_stop_the_start_naming_every_key()
    {
        using var host = Build(new Dictionary<string, string?>
        {
            ["Hindsight:BatchSize"] = "0", ["Hindsight:ReadPause"] = "00:00:05",
        });
        var e = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Contains("Hindsight:SourceConnectionString is required", e.Message, StringComparison.Ordinal);
        Assert.Contains("Hindsight:BatchSize must be positive (is 0)", e.Message, StringComparison.Ordinal);
        Assert.Contains("Hindsight:ReadPause must be between 0 and 1 s", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_value_of_the_wrong_type_stops_the_start_with_its_key()
    {
        using var host = Build(new Dictionary<string, string?>
        {
            ["Hindsight:SourceConnectionString"] = "Host=nowhere", ["Hindsight:BatchSize"] = "many",
        });
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => host.StartAsync());
        Assert.Contains("Hindsight:BatchSize", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Bound_options_reach_the_worker_and_replicas_stand_by_by_default()
    {
        using var host = Build(new Dictionary<string, string?>
        {
            ["Hindsight:SourceConnectionString"] = "Host=db;Database=shop", ["Hindsight:Slot"] = "audit",
            ["Hindsight:RedactColumns:0"] = "users.password_hash", ["Hindsight:CommitInterval"] = "00:00:00.010",
        });
        var options = host.Services.GetRequiredService<IOptions<HindsightCaptureOptions>>().Value.ToCaptureOptions();
        Assert.Equal("Host=db;Database=shop", options.SourceConnectionString);
        Assert.Equal("audit", options.Slot);
        Assert.Equal(["users.password_hash"], options.RedactColumns);
        Assert.Equal(TimeSpan.FromMilliseconds(10), options.CommitInterval);
        Assert.True(options.Standby);
    }
}

/// <summary>The worker hosted in an app: it captures, and a second host stands by and takes over when the first stops.</summary>
[Collection(PostgresCollection.Name)]
[Trait("Category", "PostgreSQL")]
public sealed class HostingTests(PostgresFixture fixture, ITestOutputHelper output)
{
    [Fact]
    public async Task A_hosted_worker_captures_and_a_second_host_takes_over_when_the_first_stops()
    {
        await using var h = await CaptureHarness.CreateAsync(fixture,
            Oracle.Install + "CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, qty int);" + Oracle.Attach("items"));
        var settings = new Dictionary<string, string?>
        {
            ["Hindsight:SourceConnectionString"] = h.ConnectionString, ["Hindsight:Slot"] = h.Slot, ["Hindsight:Publication"] = h.Slot,
            ["Hindsight:StandbyPollInterval"] = "00:00:00.200",
        };
        var firstLogs = new CollectingLoggerFactory();
        var secondLogs = new CollectingLoggerFactory();
        using var first = HostingOptionsTests.Build(settings, firstLogs);
        using var second = HostingOptionsTests.Build(settings, secondLogs);
        await first.StartAsync();
        await h.ExecuteAsync("INSERT INTO items SELECT g, 'item ' || g, g FROM generate_series(1, 50) g");
        await h.CatchUpAsync();
        await second.StartAsync(); // the slot is the first host's: this one stands by
        for (var i = 0; i < 50 && !secondLogs.Text.Contains("standing by", StringComparison.Ordinal); i++) await Task.Delay(100);
        Assert.Contains("standing by: replication slot", secondLogs.Text, StringComparison.Ordinal);

        await first.StopAsync(); // a rolling update: the first replica goes away
        await h.ExecuteAsync("UPDATE items SET qty = qty + 1 WHERE id % 2 = 0");
        await h.ExecuteAsync("DELETE FROM items WHERE id > 45");
        await h.CatchUpAsync();
        Assert.Contains("took over replication slot", secondLogs.Text, StringComparison.Ordinal);
        await second.StopAsync();

        var figures = await OracleFigures.ReadAsync(h.Source);
        output.WriteLine(figures.ToString());
        Assert.Equal(50 + 25 + 5, figures.Made);
        Assert.True(figures.ExactlyOnce, figures.ToString());
        Assert.DoesNotContain("is another worker running", firstLogs.Text + secondLogs.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_host_maps_the_readiness_check_which_fails_while_the_lag_is_over_its_threshold_and_turns_ready_quickly_on_a_quiet_database()
    {
        await using var h = await CaptureHarness.CreateAsync(fixture, "CREATE TABLE items (id int PRIMARY KEY);");
        await using (var app = await StartAppAsync(h))
        {
            using var http = app.GetTestClient();
            Assert.Equal(HttpStatusCode.OK, await PollAsync(http, HttpStatusCode.OK, TimeSpan.FromSeconds(30)));

            // WAL written in another database of the same server: the slot's lag (WAL not yet confirmed) grows past the
            // threshold, though the worker has nothing to store, until its heartbeat moves the slot on.
            var other = await fixture.CreateDatabaseAsync("lag");
            await using (var db = NpgsqlDataSource.Create(other))
                await db.CreateCommand("CREATE TABLE filler AS SELECT g, repeat('x', 200) AS pad FROM generate_series(1, 30000) g").ExecuteNonQueryAsync();
            var pgLag = await h.ScalarAsync<long>("SELECT pg_current_wal_lsn() - confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = $1", h.Slot);
            output.WriteLine($"PostgreSQL's lag of the slot after the filler: {pgLag} B");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, await PollAsync(http, HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(20)));
            var report = await app.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();
            output.WriteLine(report.Entries["hindsight"].Description);
            Assert.Contains("is over the limit of 4.0 MiB (4194304 bytes)", report.Entries["hindsight"].Description, StringComparison.Ordinal);
            // Ready again once a heartbeat has moved the slot past the filler and the status read after it says so. On a
            // loaded machine that has taken over 40 s; when it does not come, say what the check last saw.
            var recovered = await PollAsync(http, HttpStatusCode.OK, TimeSpan.FromSeconds(75));
            if (recovered != HttpStatusCode.OK)
                output.WriteLine("still not ready: " + (await app.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync()).Entries["hindsight"].Description);
            Assert.Equal(HttpStatusCode.OK, recovered);
            await app.StopAsync();
        }

        // Again on the database, now quiet (nothing left to decode): the worker's first heartbeat, a second after its
        // start, brings its first acknowledgement, instead of a whole heartbeat interval (10 s) later.
        var started = Stopwatch.StartNew();
        await using (var app = await StartAppAsync(h))
        {
            using var http = app.GetTestClient();
            Assert.Equal(HttpStatusCode.OK, await PollAsync(http, HttpStatusCode.OK, TimeSpan.FromSeconds(30)));
            output.WriteLine($"ready {started.Elapsed.TotalSeconds:0.0} s after the start, on a quiet database");
            Assert.True(started.Elapsed < TimeSpan.FromSeconds(6), $"ready only after {started.Elapsed}");
            await app.StopAsync();
        }
    }

    /// <summary>
    /// A web app that hosts the worker with a readiness threshold of 4 MiB of lag, and maps /readyz. Not less: the test server is
    /// shared, and autovacuum of the other tests' databases writes WAL that this slot also counts as lag between heartbeats.
    /// </summary>
    private static async Task<WebApplication> StartAppAsync(CaptureHarness h)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Hindsight:SourceConnectionString"] = h.ConnectionString, ["Hindsight:Slot"] = h.Slot, ["Hindsight:Publication"] = h.Slot,
            ["Hindsight:MaxLagBytes"] = (4 * 1024 * 1024).ToString(CultureInfo.InvariantCulture),
        });
        builder.Services.AddHindsightCapture(builder.Configuration.GetSection("Hindsight"));
        builder.Services.AddHealthChecks().AddHindsightCapture(tags: ["ready"]);
        var app = builder.Build();
        app.MapHealthChecks("/readyz", new HealthCheckOptions { Predicate = c => c.Tags.Contains("ready") });
        await app.StartAsync();
        return app;
    }

    private static async Task<HttpStatusCode> PollAsync(HttpClient http, HttpStatusCode wanted, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var status = (await http.GetAsync(new Uri("/readyz", UriKind.Relative))).StatusCode;
            if (status == wanted || DateTime.UtcNow > deadline) return status;
            await Task.Delay(100);
        }
    }
}
