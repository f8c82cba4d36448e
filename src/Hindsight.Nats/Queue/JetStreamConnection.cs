using NATS.Client.Core;
using NATS.Client.JetStream;

namespace Hindsight.Queue;

/// <summary>Opens a connection to the cluster and checks that JetStream answers, so a wrong URL or a server without JetStream is said at once.</summary>
internal static class JetStreamConnection
{
    public static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(5);

    public static async Task<NatsConnection> OpenAsync(IReadOnlyList<string> urls, string name, CancellationToken ct)
    {
        var nats = new NatsConnection(new NatsOpts
        {
            Url = string.Join(",", urls),
            Name = name,
            ConnectTimeout = ConnectTimeout,
            RequestTimeout = TimeSpan.FromSeconds(10),
        });
        try
        {
            await nats.ConnectAsync().AsTask().WaitAsync(ConnectTimeout * 2, ct).ConfigureAwait(false);
            // A cluster electing its meta leader does not answer at once: asked again for a while.
            await JetStreamSetup.RetryAsync(async () => await new NatsJSContext(nats).GetAccountInfoAsync(ct).ConfigureAwait(false), ct).ConfigureAwait(false);
            return nats;
        }
        catch (Exception e) when (e is NatsException or TimeoutException or NatsJSApiException)
        {
            await nats.DisposeAsync().ConfigureAwait(false);
            var what = e is NatsJSApiException or NatsNoRespondersException
                ? "answers, but JetStream does not (start nats-server with -js, or enable jetstream in its configuration)"
                : "cannot be reached";
            throw new QueueConfigurationException($"NATS at {string.Join(", ", urls)} {what}: {e.Message}", e);
        }
    }
}
