using NATS.Client.JetStream;
using Npgsql;

namespace Hindsight.Queue;

/// <summary>
/// Waits until the store holds every change a source committed before the call, on the scale path: capture has
/// published everything up to a marker (the slot is acknowledged past it) and the ingesters have stored and acknowledged
/// every message of the source (none is left in the stream). The direct path's <see cref="Worker.CatchUp"/> reads the
/// store's progress instead, which on the scale path says only what the ingesters have reached, not that nothing is left before it.
/// </summary>
public static class JetStreamCatchUp
{
    /// <summary>Waits; throws <see cref="TimeoutException"/> after <paramref name="timeout"/>.</summary>
    /// <param name="source">The tracked database.</param>
    /// <param name="slot">Its replication slot.</param>
    /// <param name="js">The cluster.</param>
    /// <param name="stream">The stream.</param>
    /// <param name="sourceName">The source's name in the store.</param>
    /// <param name="timeout">How long to wait at most.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    public static async Task WaitAsync(NpgsqlDataSource source, string slot, INatsJSContext js, string stream, string sourceName, TimeSpan timeout,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(js);
        var marker = await Worker.CatchUp.MarkAsync(source, cancellationToken).ConfigureAwait(false);
        var subject = QueueSubjects.ChangesOf(stream, sourceName);
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var cmd = source.CreateCommand("SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1");
            await using (cmd.ConfigureAwait(false))
            {
                cmd.Parameters.AddWithValue(slot);
                if (await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is string lsn &&
                    (ulong)NpgsqlTypes.NpgsqlLogSequenceNumber.Parse(lsn) >= marker)
                {
                    if (!await QueueBacklog.AnyAsync(js, stream, subject, cancellationToken).ConfigureAwait(false)) return;
                }
            }
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"the store did not catch up with source {sourceName} through the queue within {timeout.TotalSeconds:0}s");
            await Task.Delay(20, cancellationToken).ConfigureAwait(false);
        }
    }
}
