using System.Globalization;
using System.Net;
using Hindsight.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace Hindsight.Tests.Diagnostics;

/// <summary>
/// <c>hindsight run --metrics-urls</c> as a monitoring system sees it: the stored-changes counter scraped from
/// <c>/metrics</c> against PostgreSQL's own count of the rows changed, and the liveness and readiness probes.
/// </summary>
[Collection(PostgresCollection.Name)]
[Trait("Category", "PostgreSQL")]
public sealed class MetricsEndpointTests(PostgresFixture fixture, ITestOutputHelper output)
{
    [Fact]
    public async Task The_scraped_counter_of_stored_changes_equals_what_PostgreSQL_counted_and_the_probes_answer()
    {
        await using var h = await CaptureHarness.CreateAsync(fixture, "CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, qty int);");
        var url = $"http://127.0.0.1:{FreePorts.Next()}";
        using var worker = WorkerProcess.Start("--source", h.ConnectionString, "--slot", h.Slot, "--publication", h.Slot, "--metrics-urls", url);
        using var http = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(10) };
        Assert.Equal(HttpStatusCode.OK, await PollAsync(() => StatusAsync(http, "/healthz"), s => s == HttpStatusCode.OK, worker));

        await h.ExecuteAsync("INSERT INTO items SELECT g, 'item ' || g, g FROM generate_series(1, 30) g");
        for (var i = 1; i <= 10; i++) await h.ExecuteAsync($"UPDATE items SET qty = qty + 1 WHERE id = {i}");
        await h.ExecuteAsync("DELETE FROM items WHERE id > 25");
        await h.CatchUpAsync();

        // PostgreSQL's count of the rows inserted, updated and deleted, and the counter as Prometheus would scrape it.
        long counted = 0, scraped = -1;
        string metrics = "";
        for (var tries = 0; tries < 100 && scraped != counted; tries++, await Task.Delay(100))
        {
            counted = await h.ScalarAsync<long>("SELECT n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_user_tables WHERE relname = 'items'");
            metrics = await http.GetStringAsync("/metrics");
            scraped = Sum(metrics, "hindsight_changes_stored_total");
        }
        output.WriteLine($"PostgreSQL counted {counted} row changes; /metrics says {scraped}");
        output.WriteLine(string.Join('\n', metrics.Split('\n').Where(l => l.StartsWith("# TYPE hindsight", StringComparison.Ordinal))));
        Assert.Equal(30 + 10 + 5, counted);
        Assert.Equal(counted, scraped);
        Assert.True(Sum(metrics, "hindsight_transactions_stored_total") >= 1, metrics);
        Assert.True(Sum(metrics, "hindsight_store_commit_duration_seconds_count") >= 1, metrics);
        Assert.Contains("source=\"", metrics, StringComparison.Ordinal);

        Assert.Equal(HttpStatusCode.OK, await StatusAsync(http, "/readyz")); // capturing

        // The slot's lag, from the status the worker reads every few seconds: present, and small once caught up
        // (PostgreSQL's own figure for the same slot, read now, bounds it from above plus what was written since).
        for (var tries = 0; tries < 100 && !metrics.Contains("hindsight_slot_lag_bytes", StringComparison.Ordinal); tries++, await Task.Delay(100))
            metrics = await http.GetStringAsync("/metrics");
        var lagBytes = Sum(metrics, "hindsight_slot_lag_bytes");
        var pgLag = await h.ScalarAsync<long>("SELECT pg_current_wal_lsn() - confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = $1", h.Slot);
        output.WriteLine($"lag gauge {lagBytes} B; PostgreSQL's lag now {pgLag} B");
        Assert.InRange(lagBytes, 0, Math.Max(pgLag, 0) + 16 * 1024 * 1024);
        Assert.Equal(0, worker.Terminate(TimeSpan.FromSeconds(20)));
    }

    [Fact]
    public async Task A_standby_is_alive_but_not_ready()
    {
        await using var h = await CaptureHarness.CreateAsync(fixture, "CREATE TABLE items (id int PRIMARY KEY);");
        using var active = WorkerProcess.Start("--source", h.ConnectionString, "--slot", h.Slot, "--publication", h.Slot);
        await h.ExecuteAsync("INSERT INTO items VALUES (1)");
        await h.CatchUpAsync(); // the slot is the first worker's
        var url = $"http://127.0.0.1:{FreePorts.Next()}";
        using var standby = WorkerProcess.Start("--source", h.ConnectionString, "--slot", h.Slot, "--publication", h.Slot, "--standby", "--metrics-urls", url);
        using var http = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(10) };
        Assert.Equal(HttpStatusCode.OK, await PollAsync(() => StatusAsync(http, "/healthz"), s => s == HttpStatusCode.OK, standby));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, await StatusAsync(http, "/readyz"));

        Assert.Equal(0, active.Terminate(TimeSpan.FromSeconds(20))); // it takes over, and is ready once it has stored
        await h.ExecuteAsync("INSERT INTO items VALUES (2)");
        Assert.Equal(HttpStatusCode.OK, await PollAsync(() => StatusAsync(http, "/readyz"), s => s == HttpStatusCode.OK, standby));
        Assert.Equal(0, standby.Terminate(TimeSpan.FromSeconds(20)));
    }

    /// <summary>The sum of a metric's samples over its label sets, in Prometheus' text format.</summary>
    private static long Sum(string metrics, string name) =>
        metrics.Split('\n')
            .Where(line => line.StartsWith(name + "{", StringComparison.Ordinal) || line.StartsWith(name + " ", StringComparison.Ordinal))
            .Sum(line => (long)double.Parse(line.Split(' ')[1], CultureInfo.InvariantCulture));

    private static async Task<HttpStatusCode> StatusAsync(HttpClient http, string path)
    {
        try { return (await http.GetAsync(path)).StatusCode; }
        catch (HttpRequestException) { return 0; } // not listening yet
    }

    private static async Task<T> PollAsync<T>(Func<Task<T>> read, Func<T, bool> done, WorkerProcess worker)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            var value = await read();
            if (done(value) || DateTime.UtcNow > deadline) return value;
            Assert.False(worker.HasExited, "the worker exited:\n" + worker.Output);
            await Task.Delay(100);
        }
    }
}
