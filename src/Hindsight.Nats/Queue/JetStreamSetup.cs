using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace Hindsight.Queue;

/// <summary>
/// Creates or updates the stream and the ingesters' durable consumer, idempotently. The stream keeps messages on disk,
/// refuses publishes when full instead of dropping old ones, removes a message once an ingester acknowledged it (work
/// queue), and drops a resend by its message id within the duplicate window. An existing stream configured otherwise in
/// a way that could lose changes is refused, with what to do, and left as it is.
/// </summary>
public static class JetStreamSetup
{
    /// <summary>How long an ingester may hold a message before JetStream hands it to another.</summary>
    public static readonly TimeSpan AckWait = TimeSpan.FromSeconds(60);

    /// <summary>Messages handed out and not yet acknowledged, across the ingesters.</summary>
    public const int MaxAckPending = 10_000;

    // JetStream's error codes (the server's err_code): stream not found, consumer not found.
    private const int StreamNotFound = 10059;
    private const int ConsumerNotFound = 10014;

    /// <summary>Sets up the queue <paramref name="options"/> describe.</summary>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    /// <exception cref="QueueConfigurationException">NATS cannot be reached, JetStream is not enabled, or the existing stream or consumer could lose changes.</exception>
    public static async Task<JetStreamSetupReport> RunAsync(JetStreamQueueOptions options, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var nats = await JetStreamConnection.OpenAsync(options.Urls, "hindsight setup", ct).ConfigureAwait(false);
        await using var natsDisposal = nats.ConfigureAwait(false);
        var js = new NatsJSContext(nats);
        try
        {
            var streamAction = await RetryAsync(() => SetUpStreamAsync(js, options, ct), ct).ConfigureAwait(false);
            var consumerAction = await RetryAsync(() => SetUpConsumerAsync(js, options, ct), ct).ConfigureAwait(false);
            return new JetStreamSetupReport(options.Stream, streamAction, options.Consumer, consumerAction, options.Replicas, options.MaxBytes,
                options.MaxAge, options.DuplicateWindow);
        }
        catch (NatsJSApiException e)
        {
            throw new QueueConfigurationException($"JetStream refused the set-up of stream {options.Stream}: {e.Error.Description} (error {e.Error.ErrCode})", e);
        }
        catch (Exception e) when (Transient(e))
        {
            throw new QueueConfigurationException(
                $"JetStream did not answer the set-up of stream {options.Stream} within {Patience.TotalSeconds:0} s ({e.Message}); a cluster still " +
                "electing its leaders, or short of nodes for the replicas, answers later: try again, or check the nodes", e);
        }
    }

    /// <summary>How long set-up keeps asking while JetStream does not answer yet.</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    // JetStream's error code when a clustered stream finds no peers to place its replicas on yet.
    private const int NoSuitablePeers = 10005;

    /// <summary>
    /// A cluster just started, or one that lost a node, may not answer an API request at once (its meta leader or the
    /// stream's leader is being elected, or not all peers are known yet): ask again, for up to <see cref="Patience"/>.
    /// </summary>
    internal static async Task<T> RetryAsync<T>(Func<Task<T>> call, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + Patience;
        for (var wait = TimeSpan.FromMilliseconds(250); ; wait = TimeSpan.FromTicks(Math.Min(wait.Ticks * 2, TimeSpan.FromSeconds(2).Ticks)))
        {
            try { return await call().ConfigureAwait(false); }
            catch (Exception e) when (Transient(e) && DateTime.UtcNow + wait < deadline)
            {
                await Task.Delay(wait, ct).ConfigureAwait(false);
            }
        }
    }

    internal static bool Transient(Exception e) =>
        e is NatsJSApiNoResponseException or NatsJSTimeoutException or NatsNoRespondersException or NatsTimeoutException
        || e is NatsJSApiException { Error.ErrCode: NoSuitablePeers };

    private static async Task<string> SetUpStreamAsync(NatsJSContext js, JetStreamQueueOptions o, CancellationToken ct)
    {
        StreamConfig? existing;
        try { existing = (await js.GetStreamAsync(o.Stream, cancellationToken: ct).ConfigureAwait(false)).Info.Config; }
        catch (NatsJSApiException e) when (e.Error.ErrCode == StreamNotFound) { existing = null; }

        var wanted = new StreamConfig(o.Stream, [o.Subjects])
        {
            Description = "Hindsight: captured changes on their way to the store",
            Storage = StreamConfigStorage.File,
            Retention = StreamConfigRetention.Workqueue,
            Discard = StreamConfigDiscard.New,
            NumReplicas = o.Replicas,
            MaxBytes = o.MaxBytes,
            MaxAge = o.MaxAge,
            DuplicateWindow = o.DuplicateWindow,
        };
        if (existing is null)
        {
            await js.CreateStreamAsync(wanted, ct).ConfigureAwait(false);
            return "created";
        }
        if (StreamConflict(existing, o) is { } conflict)
            throw new QueueConfigurationException($"stream {o.Stream} exists and {conflict}; nothing was changed");
        if (existing.NumReplicas == wanted.NumReplicas && existing.MaxBytes == wanted.MaxBytes && existing.MaxAge == wanted.MaxAge &&
            existing.DuplicateWindow == wanted.DuplicateWindow && existing.Discard == wanted.Discard)
            return "unchanged";
        await js.UpdateStreamAsync(wanted, ct).ConfigureAwait(false);
        return "updated";
    }

    /// <summary>
    /// Checks, before capture or ingest starts, that the stream exists and is one capture may rely on (and, with
    /// <paramref name="consumer"/>, that the ingesters' consumer exists): what is wrong is said at once, not as failed publications.
    /// </summary>
    internal static async Task CheckAsync(INatsJSContext js, JetStreamQueueOptions o, bool consumer, CancellationToken ct)
    {
        try { await RetryAsync(async () => { await CheckOnceAsync(js, o, consumer, ct).ConfigureAwait(false); return true; }, ct).ConfigureAwait(false); }
        catch (Exception e) when (Transient(e))
        {
            throw new QueueConfigurationException(
                $"JetStream did not answer within {Patience.TotalSeconds:0} s ({e.Message}); a cluster electing its leaders, or short of nodes for the stream's replicas, answers later", e);
        }
    }

    private static async Task CheckOnceAsync(INatsJSContext js, JetStreamQueueOptions o, bool consumer, CancellationToken ct)
    {
        StreamConfig existing;
        try { existing = (await js.GetStreamAsync(o.Stream, cancellationToken: ct).ConfigureAwait(false)).Info.Config; }
        catch (NatsJSApiException e) when (e.Error.ErrCode == StreamNotFound)
        {
            throw new QueueConfigurationException($"JetStream has no stream {o.Stream}: run 'hindsight setup --nats {string.Join(",", o.Urls)}" +
                (o.Stream == "hindsight" ? "" : $" --stream {o.Stream}") + "' first", e);
        }
        if (StreamConflict(existing, o) is { } conflict)
            throw new QueueConfigurationException($"stream {o.Stream} {conflict}");
        if (!consumer) return;
        try { await js.GetConsumerAsync(o.Stream, o.Consumer, ct).ConfigureAwait(false); }
        catch (NatsJSApiException e) when (e.Error.ErrCode == ConsumerNotFound)
        {
            throw new QueueConfigurationException($"stream {o.Stream} has no consumer {o.Consumer}: run 'hindsight setup --nats …" +
                (o.Consumer == "ingest" ? "" : $" --consumer {o.Consumer}") + "' first", e);
        }
    }

    /// <summary>Why an existing stream cannot be used or updated into ours, or null.</summary>
    internal static string? StreamConflict(StreamConfig s, JetStreamQueueOptions o)
    {
        if (s.Storage == StreamConfigStorage.Memory)
            return "keeps its messages in memory, so a restart of NATS would lose changes not yet ingested: delete it, or give another --stream";
        if (s.Retention != StreamConfigRetention.Workqueue)
            return $"has {s.Retention} retention, which JetStream cannot change and which keeps or drops messages regardless of ingestion: delete it, or give another --stream";
        if (s.Subjects is not { } subjects || !subjects.Contains(o.Subjects))
            return $"does not take the subjects {o.Subjects} (it takes {string.Join(", ", s.Subjects ?? [])}): delete it, or give another --stream";
        if (s.DuplicateWindow < JetStreamQueueOptions.ResendHorizon)
            return $"remembers message ids for {s.DuplicateWindow.TotalSeconds:0} s, less than the {JetStreamQueueOptions.ResendHorizon.TotalMinutes:0} min in which a capture worker may resend a change, so a resend would be queued twice: raise its duplicate window, or give another --stream";
        if (s.Discard == StreamConfigDiscard.Old && (s.MaxMsgs > 0 || s.MaxMsgsPerSubject > 0))
            return "has a message-count limit that discards the oldest messages, which may not be ingested yet: remove the limit, or give another --stream";
        return null;
    }

    private static async Task<string> SetUpConsumerAsync(NatsJSContext js, JetStreamQueueOptions o, CancellationToken ct)
    {
        ConsumerConfig? existing;
        try { existing = (await js.GetConsumerAsync(o.Stream, o.Consumer, ct).ConfigureAwait(false)).Info.Config; }
        catch (NatsJSApiException e) when (e.Error.ErrCode == ConsumerNotFound) { existing = null; }
        if (existing is not null && existing.AckPolicy != ConsumerConfigAckPolicy.Explicit)
            throw new QueueConfigurationException(
                $"consumer {o.Consumer} of stream {o.Stream} acknowledges with policy {existing.AckPolicy}, not one message at a time, so a change could " +
                "be acknowledged before it is stored: delete it, or give another --consumer; nothing was changed");
        var wanted = new ConsumerConfig(o.Consumer)
        {
            DurableName = o.Consumer,
            Description = "Hindsight ingesters",
            AckPolicy = ConsumerConfigAckPolicy.Explicit,
            AckWait = AckWait,
            MaxDeliver = -1,
            MaxAckPending = MaxAckPending,
            DeliverPolicy = ConsumerConfigDeliverPolicy.All,
            FilterSubject = o.Subjects,
        };
        if (existing is not null && existing.AckWait == wanted.AckWait && existing.MaxAckPending == wanted.MaxAckPending &&
            existing.FilterSubject == wanted.FilterSubject)
            return "unchanged";
        await js.CreateOrUpdateConsumerAsync(o.Stream, wanted, ct).ConfigureAwait(false);
        return existing is null ? "created" : "updated";
    }
}
