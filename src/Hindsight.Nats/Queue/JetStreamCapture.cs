using Hindsight.Worker;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using NATS.Client.Core;
using NATS.Client.JetStream;

namespace Hindsight.Queue;

/// <summary>
/// Capture on the scale path (<c>hindsight run --nats</c>): a <see cref="CaptureWorker"/> whose changes go to the JetStream
/// stream instead of the store. It acknowledges the slot only once JetStream holds everything up to that point;
/// <c>hindsight ingest</c> (<see cref="QueueIngester"/>) moves the changes into the store.
/// </summary>
/// <remarks>
/// The store is still read at the start of each capture session (the source's registration, the redaction key, the
/// stored schema), and when a change needs a row's previous image that this session did not publish itself.
/// </remarks>
public sealed class JetStreamCapture : IAsyncDisposable
{
    private readonly NatsConnection _nats;

    private JetStreamCapture(NatsConnection nats, CaptureWorker worker)
    {
        _nats = nats;
        Worker = worker;
    }

    /// <summary>The worker: run it with <see cref="CaptureWorker.RunAsync"/>; its status is the usual one.</summary>
    public CaptureWorker Worker { get; }

    /// <summary>Connects to the cluster and checks the stream, then makes the worker.</summary>
    /// <exception cref="QueueConfigurationException">The cluster cannot be reached, has no JetStream, or has no usable stream.</exception>
    public static async Task<JetStreamCapture> ConnectAsync(CaptureOptions capture, JetStreamQueueOptions queue, ILoggerFactory? loggerFactory = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(capture);
        ArgumentNullException.ThrowIfNull(queue);
        queue.Validate();
        var nats = await JetStreamConnection.OpenAsync(queue.Urls, "hindsight-capture", cancellationToken).ConfigureAwait(false);
        try
        {
            var js = new NatsJSContext(nats);
            await JetStreamSetup.CheckAsync(js, queue, consumer: false, cancellationToken).ConfigureAwait(false);
            var log = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<JetStreamCapture>();
            var worker = new CaptureWorker(capture, loggerFactory)
            {
                SinkFactory = target => new JetStreamChangeSink(js, queue.Stream, target, log),
            };
            return new JetStreamCapture(nats, worker);
        }
        catch
        {
            await nats.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Runs the worker until cancelled (see <see cref="CaptureWorker.RunAsync"/>).</summary>
    public Task RunAsync(CancellationToken cancellationToken) => Worker.RunAsync(cancellationToken);

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _nats.DisposeAsync();
}
