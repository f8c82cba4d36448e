using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Text;
using Hindsight.Diagnostics;
using Hindsight.Hosting;
using Hindsight.Tests.Infrastructure;
using Hindsight.Tests.Server.Api;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Trace;
using Xunit;

namespace Hindsight.Tests.Diagnostics;

/// <summary>
/// Hindsight's spans, collected in memory: the worker's store commits, each linked to the traces of the requests whose
/// changes it stored; and the API's as-of, history and revert spans inside the requests that caused them.
/// </summary>
[Collection(PostgresCollection.Name)]
[Trait("Category", "PostgreSQL")]
public sealed class TracingTests(PostgresFixture fixture)
{
    /// <summary>Records every span of the Hindsight source that ends, until disposed.</summary>
    private static ActivityListener Collect(ConcurrentBag<Activity> spans)
    {
        var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == HindsightTracing.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Add,
        };
        ActivitySource.AddActivityListener(listener);
        return listener;
    }

    /// <summary>A sampled W3C trace context of a request elsewhere.</summary>
    private static ActivityContext RandomTrace() => new(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), ActivityTraceFlags.Recorded);

    [Fact]
    public async Task A_store_commit_span_links_to_the_traces_named_in_its_changes_contexts()
    {
        var spans = new ConcurrentBag<Activity>();
        using var listener = Collect(spans);

        await using var h = await CaptureHarness.CreateAsync(fixture, "CREATE TABLE items (id int PRIMARY KEY, v int);");
        h.StartWorker();
        var request = RandomTrace();
        var job = RandomTrace();
        // As the ASP.NET Core middleware writes it (traceId and spanId), and as W3C's traceparent.
        await h.ExecuteAsync(
            $$"""BEGIN; SELECT pg_logical_emit_message(true, 'hindsight', '{"traceId":"{{request.TraceId}}","spanId":"{{request.SpanId}}"}'); """ +
            "INSERT INTO items VALUES (1, 1), (2, 2); COMMIT;");
        await h.ExecuteAsync(
            $$"""BEGIN; SELECT pg_logical_emit_message(true, 'hindsight', '{"traceparent":"00-{{job.TraceId}}-{{job.SpanId}}-01"}'); """ +
            "UPDATE items SET v = 3 WHERE id = 1; COMMIT;");
        await h.ExecuteAsync("INSERT INTO items VALUES (3, 3)"); // no context: no link
        await h.CatchUpAsync();
        await h.StopWorkerAsync();

        var commits = spans.Where(s => s.OperationName == "hindsight.store.commit").ToList();
        Assert.NotEmpty(commits);
        var links = commits.SelectMany(s => s.Links).Select(l => l.Context).ToList();
        Assert.Contains(links, l => l.TraceId == request.TraceId && l.SpanId == request.SpanId);
        Assert.Contains(links, l => l.TraceId == job.TraceId && l.SpanId == job.SpanId);
        Assert.Equal(2, links.Distinct().Count());
        Assert.Equal(4L, commits.Sum(s => (long)s.GetTagItem("hindsight.changes")!));
    }

    [Fact]
    public async Task A_streamed_transaction_s_store_commit_links_to_its_trace_and_not_to_an_aborted_subtransaction_s()
    {
        var spans = new ConcurrentBag<Activity>();
        using var listener = Collect(spans);
        await using var h = await CaptureHarness.CreateAsync(fixture, "CREATE TABLE items (id int PRIMARY KEY, pad text);");
        h.StartWorker();
        var kept = RandomTrace();
        var dropped = RandomTrace();
        // Past logical_decoding_work_mem (64 kB here), so PostgreSQL streams it while it is open; a subtransaction
        // with another trace's context is rolled back inside it.
        await h.ExecuteAsync(
            "BEGIN; SET LOCAL logical_decoding_work_mem = '64kB';" +
            $$"""SELECT pg_logical_emit_message(true, 'hindsight', '{"traceparent":"00-{{kept.TraceId}}-{{kept.SpanId}}-01"}');""" +
            "INSERT INTO items SELECT g, repeat('x', 200) FROM generate_series(1, 3000) g; SAVEPOINT s;" +
            $$"""SELECT pg_logical_emit_message(true, 'hindsight', '{"traceparent":"00-{{dropped.TraceId}}-{{dropped.SpanId}}-01"}');""" +
            "INSERT INTO items SELECT g, repeat('y', 200) FROM generate_series(3001, 6000) g; ROLLBACK TO SAVEPOINT s; COMMIT;");
        await h.CatchUpAsync();
        await h.StopWorkerAsync();
        Assert.Equal(3000L, await h.ScalarAsync<long>("SELECT count(*) FROM hindsight.changes WHERE \"table\" = 'items'"));
        var links = spans.Where(s => s.OperationName == "hindsight.store.commit").SelectMany(s => s.Links).Select(l => l.Context.TraceId).ToList();
        Assert.Contains(kept.TraceId, links);
        Assert.DoesNotContain(dropped.TraceId, links);
    }

    [Fact]
    public async Task Run_sends_its_spans_and_metrics_over_OTLP_to_a_collector()
    {
        // A collector's OTLP/HTTP receiver: what the worker posts, kept as it arrived (protobuf).
        var received = new ConcurrentQueue<(string Path, byte[] Body)>();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        await using var collector = builder.Build();
        var seen = new ConcurrentQueue<string>(); // every request, for the failure message
        collector.Use(async (http, next) =>
        {
            await next();
            seen.Enqueue($"{http.Request.Method} {http.Request.Path} {http.Request.ContentLength} B: {http.Response.StatusCode}");
        });
        collector.MapPost("/v1/{signal}", async (HttpRequest request) =>
        {
            using var body = new MemoryStream();
            await request.Body.CopyToAsync(body);
            received.Enqueue((request.Path, body.ToArray()));
            return Results.Ok();
        });
        await collector.StartAsync();
        var url = collector.Urls.Single();

        await using var h = await CaptureHarness.CreateAsync(fixture, "CREATE TABLE items (id int PRIMARY KEY, v int);");
        using var worker = WorkerProcess.Start("--source", h.ConnectionString, "--slot", h.Slot, "--publication", h.Slot,
            "--otlp-endpoint", url, "--otlp-protocol", "http/protobuf");
        var request = RandomTrace();
        await h.ExecuteAsync(
            $$"""BEGIN; SELECT pg_logical_emit_message(true, 'hindsight', '{"traceparent":"00-{{request.TraceId}}-{{request.SpanId}}-01"}'); """ +
            "INSERT INTO items VALUES (1, 1); COMMIT;");
        await h.CatchUpAsync(worker, TimeSpan.FromSeconds(60));
        Assert.Equal(0, worker.Terminate(TimeSpan.FromSeconds(20))); // a graceful stop sends what is still buffered
        Assert.Contains("sending traces and metrics over OTLP to " + url, worker.Output, StringComparison.Ordinal);

        // Protobuf carries names as UTF-8 and trace ids as their 16 bytes.
        var traces = received.Where(r => r.Path == "/v1/traces").SelectMany(r => r.Body).ToArray();
        var metrics = received.Where(r => r.Path == "/v1/metrics").SelectMany(r => r.Body).ToArray();
        Assert.True(Contains(traces, Encoding.UTF8.GetBytes("hindsight.store.commit")),
            $"no store commit span reached the collector ({string.Join(", ", received.Select(r => $"{r.Path}: {r.Body.Length} B"))}):\n{string.Join("\n", seen)}\n{worker.Output}");
        var traceId = new byte[16];
        request.TraceId.CopyTo(traceId);
        Assert.True(Contains(traces, traceId), "the span's link to the request's trace did not reach the collector");
        Assert.True(Contains(metrics, Encoding.UTF8.GetBytes("hindsight.changes.stored")), "no metrics reached the collector");
        // The resource: service hindsight, at the build's version with its commit.
        var version = typeof(TracingTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "HindsightVersion").Value!;
        Assert.True(Contains(traces, Encoding.UTF8.GetBytes("service.name")) && Contains(traces, Encoding.UTF8.GetBytes(version + "+")), "no service name and version");
    }

    private static bool Contains(byte[] haystack, byte[] needle) => haystack.AsSpan().IndexOf(needle) >= 0;

    [Fact]
    public async Task API_requests_hold_their_as_of_history_and_revert_spans_and_the_revert_s_store_commit_links_back_to_it()
    {
        // A host's own OpenTelemetry set-up, exporting to memory: the instrumentation extension and ASP.NET Core's.
        var exported = new List<Activity>();
        long xid, conflicted;
        using (var tracing = Sdk.CreateTracerProviderBuilder().AddHindsightInstrumentation().AddAspNetCoreInstrumentation()
                   .AddInMemoryExporter(exported).Build())
        {
            await using var s = await ApiServer.StartAsync(fixture);
            await s.SeedAsync();
            var at = Uri.EscapeDataString(DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture));
            Assert.Equal(200, (await s.GetAsync($"/api/as-of?table=orders&at={at}")).Status);
            Assert.Equal(200, (await s.GetAsync("/api/history?table=orders&key=1")).Status);
            xid = await s.Harness.ScalarAsync<long>("SELECT transaction_id FROM hindsight.changes WHERE operation = 'DELETE'");
            Assert.Equal(200, (await s.PostAsync("/api/revert", $$"""{"transaction": {{xid}}}""", s.AdminKey)).Status);
            await s.Harness.CatchUpAsync();
            // Again: already reverted, which the library itself refuses.
            Assert.Equal(409, (await s.PostAsync("/api/revert", $$"""{"transaction": {{xid}}}""", s.AdminKey)).Status);
            var created = await s.Harness.ScalarAsync<long>("SELECT id FROM hindsight.changes WHERE operation = 'CREATE' AND primary_key = '2'");
            await s.Harness.ExecuteAsync("UPDATE orders SET total = 21 WHERE id = 2"); // a later change: reverting the creation conflicts
            await s.Harness.CatchUpAsync();
            Assert.Equal(409, (await s.PostAsync("/api/revert", $$"""{"change": {{created}}}""", s.AdminKey)).Status);
            conflicted = created;
            await s.Harness.CatchUpAsync();
            tracing.ForceFlush();
        }

        var ours = exported.ToList();
        Activity Request(string method, string path, int? status = null) => ours.Single(a =>
            a.Source.Name == "Microsoft.AspNetCore" && (string?)a.GetTagItem("http.request.method") == method &&
            (string?)a.GetTagItem("url.path") == path && (status is null || (int?)a.GetTagItem("http.response.status_code") == status));
        Activity ChildOf(Activity parent, string name) => ours.Single(a => a.OperationName == name && a.ParentSpanId == parent.SpanId && a.TraceId == parent.TraceId);

        var asOf = ChildOf(Request("GET", "/api/as-of"), "hindsight.asof");
        Assert.Equal("orders", asOf.GetTagItem("hindsight.table")); // as the request named it
        Assert.Equal(2, asOf.GetTagItem("hindsight.rows")); // orders 1 and 2; 3 was deleted
        Assert.Equal(2, ChildOf(Request("GET", "/api/history"), "hindsight.history").GetTagItem("hindsight.versions")); // created, paid

        var revert = Request("POST", "/api/revert", 200);
        var plan = ChildOf(revert, "hindsight.revert.plan");
        Assert.Equal($"transaction {xid}", plan.GetTagItem("hindsight.selection"));
        Assert.Equal(2, plan.GetTagItem("hindsight.statements"));
        var apply = ChildOf(revert, "hindsight.revert.apply");
        Assert.Equal(ActivityStatusCode.Unset, apply.Status);
        Assert.Equal(true, apply.GetTagItem("hindsight.applied"));
        Assert.Equal(2, apply.GetTagItem("hindsight.rows"));
        // The revert's changes, captured by the worker: their store commit links to the span that applied them.
        Assert.Contains(ours, a => a.OperationName == "hindsight.store.commit" &&
            a.Links.Any(l => l.Context.TraceId == apply.TraceId && l.Context.SpanId == apply.SpanId));

        var refusals = ours.Where(a => a.Source.Name == "Microsoft.AspNetCore" && (string?)a.GetTagItem("url.path") == "/api/revert" &&
                                       (int?)a.GetTagItem("http.response.status_code") == 409).ToList();
        Assert.Equal(2, refusals.Count);
        // Reverting the same transaction again: planned, then refused by the apply, whose span says why.
        var again = refusals.Single(r => ours.Any(a => a.ParentSpanId == r.SpanId && a.OperationName == "hindsight.revert.apply"));
        var refused = ChildOf(again, "hindsight.revert.apply");
        Assert.Equal(ActivityStatusCode.Error, refused.Status);
        Assert.StartsWith("refused: ", refused.StatusDescription, StringComparison.Ordinal);
        Assert.Contains("already reverted", refused.StatusDescription, StringComparison.Ordinal);
        // A conflict: the plan's span counts it, and the API refuses without applying.
        var conflict = ChildOf(refusals.Single(r => r != again), "hindsight.revert.plan");
        Assert.Equal($"change {conflicted}", conflict.GetTagItem("hindsight.selection"));
        Assert.Equal(1, conflict.GetTagItem("hindsight.conflicts"));
    }
}
