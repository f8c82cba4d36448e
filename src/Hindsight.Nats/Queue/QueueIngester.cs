using System.Text;
using System.Threading.Channels;
using Hindsight.Configuration;
using Hindsight.Sink;
using Hindsight.Store;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using NATS.Client.Core;
using NATS.Client.JetStream;
using Npgsql;

namespace Hindsight.Queue;

/// <summary>
/// An ingester (<c>hindsight ingest</c>): reads the stream through the shared durable consumer and writes the changes
/// into the store exactly once. Any number run at once; JetStream gives each message to one of them at a time.
/// </summary>
/// <remarks>
/// A batch of messages is written in one store transaction and acknowledged only after it commits, each acknowledgement
/// confirmed by JetStream (double acknowledgement). An ingester that dies before acknowledging leaves its messages to be
/// delivered again after the consumer's ack wait; the store's key drops the rows it had already stored. Capture renders
/// every change in full before it is queued, so ingest needs no order: sources and parts are stored in any order, by any ingester.
/// </remarks>
public sealed class QueueIngester(QueueIngestOptions options, ILoggerFactory? loggerFactory = null)
{
    /// <summary>How long a message that cannot be read waits before it is offered again (it is never dropped).</summary>
    internal static readonly TimeSpan UnreadableRetry = TimeSpan.FromSeconds(30);

    private readonly ILogger _log = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<QueueIngester>();
    private long _storedChanges, _storedMessages;
    private volatile bool _ingesting;

    /// <summary>Rows this ingester has stored (not counting rows it found already stored).</summary>
    public long StoredChanges => Interlocked.Read(ref _storedChanges);

    /// <summary>Messages this ingester has stored and acknowledged.</summary>
    public long StoredMessages => Interlocked.Read(ref _storedMessages);

    /// <summary>True once connected to the cluster and the store, until a failure or the stop.</summary>
    public bool IsIngesting => _ingesting;

    /// <summary>Raised after each store commit with the rows it stored.</summary>
    public event Action<long>? Stored;

    /// <summary>Runs until <paramref name="cancellationToken"/> is cancelled (returns normally).</summary>
    /// <exception cref="QueueConfigurationException">The cluster, the stream or the consumer is missing or wrong at start.</exception>
    /// <exception cref="InvalidOperationException">The store is not set up, or is older than this ingester.</exception>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Queue.Validate();
        var store = NpgsqlDataSource.Create(ConnectionStrings.ToNpgsql(options.StoreConnectionString));
        await using var storeDisposal = store.ConfigureAwait(false);
        var version = await StoreMigrations.CurrentVersionAsync(store, cancellationToken).ConfigureAwait(false);
        if (version < StoreMigrations.LatestVersion)
            throw new InvalidOperationException(version == 0
                ? "the change store is not set up; run 'hindsight setup' first."
                : $"the change store is at schema version {version}, older than this ingester needs ({StoreMigrations.LatestVersion}): run 'hindsight setup' to migrate it.");

        var nats = await JetStreamConnection.OpenAsync(options.Queue.Urls, "hindsight-ingest", cancellationToken).ConfigureAwait(false);
        await using var natsDisposal = nats.ConfigureAwait(false);
        var js = new NatsJSContext(nats);
        await JetStreamSetup.CheckAsync(js, options.Queue, consumer: true, cancellationToken).ConfigureAwait(false);
        _log.LogInformation("ingesting from stream {Stream} (consumer {Consumer}) into {Store}", options.Queue.Stream, options.Queue.Consumer,
            ConnectionStrings.Describe(options.StoreConnectionString));

        var channel = Channel.CreateBounded<INatsJSMsg<byte[]>>(new BoundedChannelOptions(options.MaxMessagesPerStoreTransaction * 2)
        {
            SingleReader = true, SingleWriter = true, FullMode = BoundedChannelFullMode.Wait,
        });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var reading = Task.Run(() => ReadAsync(js, channel.Writer, stop.Token), CancellationToken.None);
        try
        {
            await WriteAsync(store, channel.Reader, stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested) { }
        finally
        {
            _ingesting = false;
            await stop.CancelAsync().ConfigureAwait(false);
            try { await reading.ConfigureAwait(false); } catch (OperationCanceledException) { }
            // Offer what was read and not stored to the other ingesters now, rather than after the ack wait.
            while (channel.Reader.TryRead(out var left))
                try { await left.NakAsync(cancellationToken: CancellationToken.None).ConfigureAwait(false); } catch (Exception) { /* redelivered after the ack wait */ }
        }
        _log.LogInformation("ingest stopped; stored {Changes} changes from {Messages} messages", StoredChanges, StoredMessages);
    }

    /// <summary>Pulls from the durable consumer into the channel; reconnects after a failure.</summary>
    private async Task ReadAsync(INatsJSContext js, ChannelWriter<INatsJSMsg<byte[]>> output, CancellationToken ct)
    {
        var delay = options.RetryMinDelay;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                var consumer = await js.GetConsumerAsync(options.Queue.Stream, options.Queue.Consumer, ct).ConfigureAwait(false);
                await foreach (var m in consumer.ConsumeAsync<byte[]>(opts: new NatsJSConsumeOpts { MaxMsgs = options.MaxMessagesPerStoreTransaction * 2 },
                                   cancellationToken: ct).ConfigureAwait(false))
                {
                    await output.WriteAsync(m, ct).ConfigureAwait(false);
                    delay = options.RetryMinDelay;
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { return; }
            catch (Exception e)
            {
                _log.LogWarning("reading the queue failed: {Error}; again in {Delay:0.0}s", e.Message, delay.TotalSeconds);
                try { await Task.Delay(delay, ct).ConfigureAwait(false); } catch (OperationCanceledException) { return; }
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, options.RetryMaxDelay.Ticks));
            }
        }
    }

    /// <summary>Takes what has arrived (up to a store transaction's worth), stores it, acknowledges it; again.</summary>
    private async Task WriteAsync(NpgsqlDataSource store, ChannelReader<INatsJSMsg<byte[]>> input, CancellationToken ct)
    {
        var delay = options.RetryMinDelay;
        var batch = new List<INatsJSMsg<byte[]>>(options.MaxMessagesPerStoreTransaction);
        var items = new List<IngestItem>(options.MaxMessagesPerStoreTransaction);
        var acks = Task.CompletedTask;
        _ingesting = true;
        try
        {
            while (await input.WaitToReadAsync(ct).ConfigureAwait(false))
            {
                batch.Clear();
                items.Clear();
                long bytes = 0;
                while (batch.Count < options.MaxMessagesPerStoreTransaction && bytes < ChangeRowEncoder.MaxBatchBytes && input.TryRead(out var m))
                {
                    if (Read(m) is { } item)
                    {
                        batch.Add(m);
                        items.Add(item);
                        bytes += m.Data?.Length ?? 0;
                    }
                    else await m.NakAsync(new AckOpts { NakDelay = UnreadableRetry }, ct).ConfigureAwait(false);
                }
                if (batch.Count == 0) continue;
                long stored;
                var started = System.Diagnostics.Stopwatch.GetTimestamp();
                try
                {
                    stored = await IngestWriter.StoreAsync(store, items, ct).ConfigureAwait(false);
                }
                catch (Exception e) when (!ct.IsCancellationRequested && e is NpgsqlException or IOException or TimeoutException)
                {
                    _ingesting = false;
                    _log.LogWarning("storing {Count} queued messages failed: {Error}; they go back to the queue, and this ingester tries again in {Delay:0.0}s",
                        batch.Count, e.Message, delay.TotalSeconds);
                    foreach (var m in batch)
                        try { await m.NakAsync(new AckOpts { NakDelay = delay }, ct).ConfigureAwait(false); } catch (NatsException) { /* redelivered after the ack wait */ }
                    await Task.Delay(delay, ct).ConfigureAwait(false);
                    delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, options.RetryMaxDelay.Ticks));
                    continue;
                }
                delay = options.RetryMinDelay;
                _ingesting = true;
                // Acknowledged only now, each confirmed by JetStream: a message whose acknowledgement is lost is delivered
                // again, and its rows are found already stored. The confirmations are awaited while the next batch is stored
                // (one batch's at most): the store commit, not JetStream's round trip, paces the loop.
                await acks.ConfigureAwait(false);
                acks = Task.WhenAll(batch.Select(m => AckAsync(m, CancellationToken.None)).ToList()); // a stop still confirms what was stored
                Interlocked.Add(ref _storedChanges, stored);
                Interlocked.Add(ref _storedMessages, batch.Count);
                var took = System.Diagnostics.Stopwatch.GetElapsedTime(started);
                foreach (var source in items.Where(i => i.Changes is not null).GroupBy(i => i.Source))
                    Diagnostics.HindsightMetrics.StoreCommitted(source.Key, source.Sum(i => (long)i.Changes!.Changes), source.Sum(i => (long)i.Changes!.Transactions), took,
                        source.Max(i => i.Changes!.LastCommittedAt));
                Stored?.Invoke(stored);
            }
        }
        finally
        {
            await acks.ConfigureAwait(false); // a stop waits for the confirmations of what was stored
        }
    }

    private async Task AckAsync(INatsJSMsg<byte[]> m, CancellationToken ct)
    {
        try { await m.AckAsync(new AckOpts { DoubleAck = true }, ct).ConfigureAwait(false); }
        catch (Exception e) when (e is NatsException or TimeoutException)
        {
            _log.LogDebug("acknowledgement of a stored message failed ({Error}); it will be delivered again and found stored", e.Message);
        }
    }

    /// <summary>Reads and checks a message; null (and an error in the log) for one that cannot be stored as it is.</summary>
    private IngestItem? Read(INatsJSMsg<byte[]> m)
    {
        try
        {
            if (m.Headers is not { } headers || m.Data is not { } data) throw new FormatException("a message without headers or body");
            var format = headers.TryGetValue("Hindsight-Format", out var f) ? f.ToString() : "";
            if (format == SchemaChangeMessage.Format)
            {
                string H(string name) => headers.TryGetValue(name, out var v) && v.Count == 1 ? v[0]! : throw new FormatException($"a schema change message without {name}");
                var changes = SchemaChangeMessage.Read(data);
                return new IngestItem(H("Hindsight-Source"), H("Hindsight-Database"), H("Hindsight-Slot"),
                    ulong.Parse(H("Hindsight-Commit-Lsn"), System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture), null, changes);
            }
            var message = QueueMessage.Read(headers, data);
            // The rows name their source themselves: a message whose rows disagree with its headers is not stored.
            if (message.Changes > 0 && !ChangeRowEncoder.Read(message.Tuples.Span, ChangeRowEncoder.Field.Source).SequenceEqual(Encoding.UTF8.GetBytes(message.Source)))
                throw new FormatException($"message {message.MessageId} holds rows of another source");
            return new IngestItem(message.Source, message.Database, message.Slot, message.LastCommitLsn, message, null);
        }
        catch (Exception e) when (e is FormatException or OverflowException)
        {
            _log.LogError("queue message {Sequence} of subject {Subject} cannot be stored ({Error}); it stays in the queue and is offered again every {Seconds:0}s",
                m.Metadata?.Sequence.Stream, m.Subject, e.Message, UnreadableRetry.TotalSeconds);
            return null;
        }
    }
}
