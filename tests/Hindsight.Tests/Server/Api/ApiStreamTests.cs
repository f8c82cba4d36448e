using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Hindsight.Tests.Infrastructure;
using Xunit;

namespace Hindsight.Tests.Server.Api;

/// <summary>The live stream (server-sent events) over real HTTP: new changes arrive, heartbeats flow, disconnects free the stream.</summary>
[Collection(PostgresCollection.Name)]
[Trait("Category", "PostgreSQL")]
public sealed class ApiStreamTests(PostgresFixture fixture)
{
    /// <summary>An open event stream, read line by line.</summary>
    private sealed class EventStream(HttpResponseMessage response, StreamReader reader) : IDisposable
    {
        public HttpResponseMessage Response => response;

        public static async Task<EventStream> OpenAsync(HttpClient client, string path, string? lastEventId = null)
        {
            var request = new HttpRequestMessage(HttpMethod.Get, path);
            if (lastEventId is not null) request.Headers.Add("Last-Event-ID", lastEventId);
            var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            return new EventStream(response, new StreamReader(await response.Content.ReadAsStreamAsync()));
        }

        /// <summary>The next event's fields (id, event, data), or comment lines as ("comment", text); null at the end.</summary>
        public async Task<Dictionary<string, string>?> NextAsync(TimeSpan timeout)
        {
            using var cts = new CancellationTokenSource(timeout);
            var fields = new Dictionary<string, string>();
            while (true)
            {
                var line = await reader.ReadLineAsync(cts.Token);
                if (line is null) return null;
                if (line.Length == 0)
                {
                    if (fields.Count > 0) return fields;
                    continue;
                }
                var colon = line.IndexOf(':');
                var (name, value) = colon == 0 ? ("comment", line[1..].Trim()) : (line[..colon], line[(colon + 1)..].TrimStart());
                fields[name] = value;
            }
        }

        /// <summary>The next change event, skipping comments.</summary>
        public async Task<JsonNode> NextChangeAsync(TimeSpan timeout)
        {
            while (true)
            {
                var e = await NextAsync(timeout) ?? throw new InvalidOperationException("the stream ended");
                if (e.TryGetValue("event", out var kind) && kind == "change")
                {
                    var change = JsonNode.Parse(e["data"])!;
                    Assert.Equal(e["id"], ((long)change["id"]!).ToString(System.Globalization.CultureInfo.InvariantCulture));
                    return change;
                }
            }
        }

        public void Dispose()
        {
            reader.Dispose();
            response.Dispose();
        }
    }

    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Api_stream_delivers_changes_made_after_subscribing_in_order_and_resumes_after_the_last_event_id()
    {
        await using var s = await ApiServer.StartAsync(fixture, o => o.StreamHeartbeatInterval = TimeSpan.FromMilliseconds(300));
        await s.SeedAsync(); // before subscribing: not part of the stream
        using var stream = await EventStream.OpenAsync(s.Client(s.ReadKey), "/api/changes/stream?table=orders");
        Assert.Equal(HttpStatusCode.OK, stream.Response.StatusCode);
        Assert.Equal("text/event-stream", stream.Response.Content.Headers.ContentType?.MediaType);
        Assert.True(stream.Response.Headers.CacheControl?.NoStore);
        var hello = await stream.NextAsync(Wait);
        Assert.Equal("3000", hello!["retry"]);

        await s.Harness.ExecuteAsync("INSERT INTO \"we'ird\" VALUES (1, 'not orders')"); // filtered out
        await s.Harness.ExecuteAsync(
            """
            BEGIN;
            SELECT pg_logical_emit_message(true, 'hindsight', '{"userId":"carol"}');
            INSERT INTO orders VALUES (4, 'new', 40);
            UPDATE orders SET status = 'shipped' WHERE id = 4;
            COMMIT;
            """);
        var first = await stream.NextChangeAsync(Wait);
        Assert.Equal("CREATE", (string)first["operation"]!);
        Assert.Equal("4", (string)first["primary_key"]!);
        Assert.Equal("carol", (string)first["context"]!["userId"]!);
        var second = await stream.NextChangeAsync(Wait);
        Assert.Equal("UPDATE", (string)second["operation"]!);

        // Idle: heartbeats (comment lines) keep the connection.
        var idle = await stream.NextAsync(Wait);
        Assert.Equal("keep-alive", idle!["comment"]);

        // A reconnect with Last-Event-ID gets what came after it, and nothing before.
        using var resumed = await EventStream.OpenAsync(s.Client(s.ReadKey), "/api/changes/stream?table=orders", ((long)first["id"]!).ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal((long)second["id"]!, (long)(await resumed.NextChangeAsync(Wait))["id"]!);
        using var fromStart = await EventStream.OpenAsync(s.Client(s.ReadKey), "/api/changes/stream?after_id=0&operation=DELETE");
        Assert.Equal("3", (string)(await fromStart.NextChangeAsync(Wait))["primary_key"]!);
    }

    [Fact]
    public async Task Api_stream_over_every_source_sends_a_change_whose_worker_committed_it_after_a_newer_id_of_another()
    {
        await using var s = await ApiServer.StartAsync(fixture);
        await s.SeedAsync();
        using var stream = await EventStream.OpenAsync(s.Client(s.ReadKey), "/api/changes/stream?source=*&table=orders");
        Assert.NotNull(await stream.NextAsync(Wait)); // retry and hello

        // Another source's worker takes an id and has not committed yet ...
        await using var late = await s.Harness.Source.OpenConnectionAsync();
        await using var tx = await late.BeginTransactionAsync();
        long lateId;
        await using (var cmd = new Npgsql.NpgsqlCommand(
            """
            INSERT INTO hindsight.changes (source, database, schema, "table", primary_key, operation, after, committed_at, transaction_id,
                                           position, commit_lsn, ordinal, queued_at)
            VALUES ('late', 'other', 'public', 'orders', '1', 'CREATE', '{"id": 1}', now(), 1, 1, 1, 1, now()) RETURNING id
            """, late, tx))
            lateId = (long)(await cmd.ExecuteScalarAsync())!;
        // ... while this source's newer change is stored and sent.
        await s.Harness.ExecuteAsync("INSERT INTO orders VALUES (4, 'new', 40)");
        var (firstId, first) = await NextChangeWithIdAsync(stream);
        Assert.Equal("4", (string)first["primary_key"]!);
        Assert.True((long)first["id"]! > lateId);

        // The late commit is still sent, and the event id carries where each source stands.
        await tx.CommitAsync();
        var (lateEventId, second) = await NextChangeWithIdAsync(stream);
        Assert.Equal(lateId, (long)second["id"]!);
        Assert.Equal("late", (string)second["source"]!);
        Assert.StartsWith($"{lateId};", lateEventId, StringComparison.Ordinal);

        // Resuming from the first event's id sends the late change again (it came after, for its source), and nothing else.
        using var resumed = await EventStream.OpenAsync(s.Client(s.ReadKey), "/api/changes/stream?source=*&table=orders", firstId);
        Assert.Equal(lateId, (long)(await NextChangeWithIdAsync(resumed)).Change["id"]!);
        using var fromLate = await EventStream.OpenAsync(s.Client(s.ReadKey), "/api/changes/stream?source=*&table=orders", lateEventId);
        await s.Harness.ExecuteAsync("INSERT INTO orders VALUES (5, 'new', 50)");
        Assert.Equal("5", (string)(await NextChangeWithIdAsync(fromLate)).Change["primary_key"]!);
    }

    /// <summary>The next change event of a stream over several sources, with its event id (a position, not the change id).</summary>
    private static async Task<(string Id, JsonNode Change)> NextChangeWithIdAsync(EventStream stream)
    {
        var deadline = DateTime.UtcNow + Wait; // keep-alive comments must not make it wait for ever
        while (true)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("no change event within " + Wait);
            var e = await stream.NextAsync(Wait) ?? throw new InvalidOperationException("the stream ended");
            if (e.TryGetValue("event", out var kind) && kind == "change") return (e["id"], JsonNode.Parse(e["data"])!);
        }
    }

    [Fact]
    public async Task Api_stream_ends_when_the_client_disconnects_freeing_its_place_and_refuses_one_too_many()
    {
        await using var s = await ApiServer.StartAsync(fixture, o => o.MaxStreams = 1);
        var first = await EventStream.OpenAsync(s.Client(s.ReadKey), "/api/changes/stream");
        Assert.NotNull(await first.NextAsync(Wait));
        using (var second = await s.Client(s.ReadKey).GetAsync("/api/changes/stream", HttpCompletionOption.ResponseHeadersRead))
            Assert.Equal(HttpStatusCode.ServiceUnavailable, second.StatusCode);

        first.Dispose(); // the client goes away
        var watch = Stopwatch.StartNew();
        HttpStatusCode status;
        do
        {
            using var again = await s.Client(s.ReadKey).GetAsync("/api/changes/stream", HttpCompletionOption.ResponseHeadersRead);
            status = again.StatusCode;
            if (status != HttpStatusCode.OK) await Task.Delay(100);
        } while (status != HttpStatusCode.OK && watch.Elapsed < Wait);
        Assert.Equal(HttpStatusCode.OK, status);
    }

    [Fact]
    public async Task Api_stream_bad_input_is_400_before_streaming_and_a_server_stop_ends_open_streams()
    {
        var s = await ApiServer.StartAsync(fixture);
        try
        {
            Assert.Equal(400, (await s.GetAsync("/api/changes/stream?context=%5B%5D")).Status);
            Assert.Equal(400, (await s.GetAsync("/api/changes/stream?after_id=latest")).Status);
            using var open = await EventStream.OpenAsync(s.Client(s.ReadKey), "/api/changes/stream");
            Assert.NotNull(await open.NextAsync(Wait));
            var watch = Stopwatch.StartNew();
            await s.DisposeAsync(); // stops the server with the stream open
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"stopping took {watch.Elapsed}");
            Assert.Null(await open.NextAsync(Wait)); // and the client sees the end of the stream
        }
        finally
        {
            await s.DisposeAsync();
        }
    }
}
