using System.ComponentModel;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Hindsight.Query;
using Hindsight.Server.Contracts;
using Hindsight.Server.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Hindsight.Server.Endpoints;

/// <summary>
/// <c>GET /api/changes/stream</c>: a live tail of new changes as server-sent events (<c>event: change</c>, <c>id</c> = the
/// change id, <c>data</c> = the change object). Keyset on the change id: it polls the store for ids above the last one
/// sent, so a reconnect with <c>Last-Event-ID</c> (or <c>after_id</c>) misses nothing and repeats nothing.
/// </summary>
/// <remarks>
/// Ids follow commit order within one source (one worker writes it), which is what a stream filters to by
/// default; a stream over several sources (<c>source=*</c>) reads each from its own cursor (<see cref="StreamCursor"/>),
/// and its event ids carry them all. Comment lines (<c>: keep-alive</c>) are sent when idle so that proxies do not close the connection. The
/// stream ends when the client disconnects or the server stops.
/// </remarks>
internal static class StreamEndpoints
{
    /// <summary>Most changes read per poll; more are read at once, without waiting, until caught up.</summary>
    private const int Batch = 200;

    public static void Map(RouteGroupBuilder api) =>
        api.MapGet("/changes/stream", async ([AsParameters] FilterParameters filter,
                [FromQuery(Name = "after_id"), Description("Start after this change id (default: the Last-Event-ID header, else only changes from now on)")] string? afterId,
                HttpContext http, HindsightBackend backend, StreamGate gate, IOptions<HindsightApiOptions> options,
                IHostApplicationLifetime lifetime, ILoggerFactory logs) =>
            {
                // Input is checked before the stream starts, so that a bad filter is still an ordinary 400.
                var changeFilter = await filter.ToFilterAsync(backend, http.RequestAborted).ConfigureAwait(false);
                var lastEventId = http.Request.Headers["Last-Event-ID"].ToString();
                var given = afterId ?? (lastEventId.Length > 0 ? lastEventId : null);
                var from = given is null ? null : StreamCursor.Parse(given, afterId is null ? "Last-Event-ID" : "after_id");
                if (!gate.TryEnter())
                    return ApiProblems.Problem(StatusCodes.Status503ServiceUnavailable, "Too many streams",
                        $"{options.Value.MaxStreams} live streams are open; close one or try again later");
                try
                {
                    using var stop = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted, lifetime.ApplicationStopping);
                    await RunAsync(http, backend, changeFilter, from, options.Value, logs.CreateLogger("Hindsight.Server.Stream"), stop.Token).ConfigureAwait(false);
                }
                finally
                {
                    gate.Exit();
                }
                return Results.Empty;
            })
            .WithName("streamChanges")
            .WithSummary("Live tail of new changes as server-sent events (text/event-stream)")
            .Produces(StatusCodes.Status200OK, contentType: "text/event-stream")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);

    private static async Task RunAsync(HttpContext http, HindsightBackend backend, ChangeFilter filter, StreamCursor? after,
        HindsightApiOptions options, ILogger log, CancellationToken ct)
    {
        try
        {
            // Without a starting point the stream begins after the newest matching change: only what happens from now on.
            var position = after ?? StreamCursor.After((await backend.Trail.QueryAsync(filter, new PageRequest { Limit = 1 }, ct).ConfigureAwait(false)).Changes.FirstOrDefault()?.Id ?? 0);
            // One source (the default): its ids become visible in order, so one cursor is exact. Several: one each.
            var oneSource = filter.Source is not null;
            var cursor = position.For(filter.Source ?? "");
            var response = http.Response;
            response.ContentType = "text/event-stream";
            response.Headers["X-Accel-Buffering"] = "no"; // nginx: pass events through as they come
            http.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
            // retry: how long a browser's EventSource waits before reconnecting (with Last-Event-ID).
            await WriteAsync(response, "retry: 3000\n: hindsight change stream\n\n", ct).ConfigureAwait(false);
            var lastWrite = DateTime.UtcNow;
            while (!ct.IsCancellationRequested)
            {
                ChangePage page;
                try
                {
                    page = oneSource
                        ? await backend.Trail.QueryAsync(filter, new PageRequest { OldestFirst = true, Cursor = cursor, Limit = Batch }, ct).ConfigureAwait(false)
                        : await ReadSourcesAsync(backend, filter, position, ct).ConfigureAwait(false);
                }
                catch (NpgsqlException e) when (!ct.IsCancellationRequested)
                {
                    // A store that is briefly away should not end the stream: say so, and poll again.
                    log.LogWarning(e, "live stream: the store cannot be read; retrying");
                    await WriteAsync(response, ": store unavailable, retrying\n\n", ct).ConfigureAwait(false);
                    lastWrite = DateTime.UtcNow;
                    await Task.Delay(options.StreamPollInterval, ct).ConfigureAwait(false);
                    continue;
                }
                if (page.Changes.Count > 0)
                {
                    var sb = new StringBuilder();
                    foreach (var c in page.Changes)
                    {
                        position.Sent(c.Source, c.Id);
                        var id = oneSource ? c.Id.ToString(CultureInfo.InvariantCulture) : position.Format(c.Id);
                        sb.Append(CultureInfo.InvariantCulture, $"id: {id}\nevent: change\ndata: {JsonSerializer.Serialize(ChangeDto.From(c))}\n\n");
                    }
                    await WriteAsync(response, sb.ToString(), ct).ConfigureAwait(false);
                    cursor = page.Changes[^1].Id;
                    lastWrite = DateTime.UtcNow;
                    if (page.NextCursor is not null) continue; // more waiting: read on without delay
                }
                else if (DateTime.UtcNow - lastWrite >= options.StreamHeartbeatInterval)
                {
                    await WriteAsync(response, ": keep-alive\n\n", ct).ConfigureAwait(false);
                    lastWrite = DateTime.UtcNow;
                }
                await Task.Delay(options.StreamPollInterval, ct).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The client went away or the server is stopping: the normal end of a stream.
        }
        catch (IOException) when (ct.IsCancellationRequested || http.RequestAborted.IsCancellationRequested)
        {
            // Writing to a connection the client just closed.
        }
    }

    /// <summary>
    /// The next changes of every source, each read from its own cursor, merged in id order: at most <see cref="Batch"/> per
    /// source, with a next cursor when any source has more waiting.
    /// </summary>
    private static async Task<ChangePage> ReadSourcesAsync(HindsightBackend backend, ChangeFilter filter, StreamCursor position, CancellationToken ct)
    {
        var changes = new List<Change>();
        var more = false;
        foreach (var source in await backend.Trail.SourcesAsync(ct).ConfigureAwait(false))
        {
            var page = await backend.Trail.QueryAsync(filter with { Source = source },
                new PageRequest { OldestFirst = true, Cursor = position.For(source), Limit = Batch }, ct).ConfigureAwait(false);
            changes.AddRange(page.Changes);
            more |= page.NextCursor is not null;
        }
        changes.Sort((a, b) => a.Id.CompareTo(b.Id));
        return new ChangePage(changes, more && changes.Count > 0 ? changes[^1].Id : null);
    }

    private static async Task WriteAsync(HttpResponse response, string text, CancellationToken ct)
    {
        await response.WriteAsync(text, ct).ConfigureAwait(false);
        await response.Body.FlushAsync(ct).ConfigureAwait(false);
    }
}
