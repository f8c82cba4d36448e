using System.Collections.Concurrent;
using System.Diagnostics;
using Hindsight.Diagnostics;
using Hindsight.Tests.Infrastructure;
using Xunit;

namespace Hindsight.Tests.Diagnostics;

/// <summary>
/// The worker's store commits as spans, collected in memory by a listener on the <c>Hindsight</c> activity source: each
/// links to the traces of the requests whose changes it stored.
/// </summary>
[Collection(PostgresCollection.Name)]
[Trait("Category", "PostgreSQL")]
public sealed class TracingTests(PostgresFixture fixture)
{
    [Fact]
    public async Task A_store_commit_span_links_to_the_traces_named_in_its_changes_contexts()
    {
        var spans = new ConcurrentBag<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == HindsightTracing.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Add,
        };
        ActivitySource.AddActivityListener(listener);

        await using var h = await CaptureHarness.CreateAsync(fixture, "CREATE TABLE items (id int PRIMARY KEY, v int);");
        h.StartWorker();
        var request = ActivityContext.Parse($"00-{ActivityTraceId.CreateRandom()}-{ActivitySpanId.CreateRandom()}-01", null);
        var job = ActivityContext.Parse($"00-{ActivityTraceId.CreateRandom()}-{ActivitySpanId.CreateRandom()}-01", null);
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
}
