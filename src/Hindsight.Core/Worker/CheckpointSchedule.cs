using Hindsight.Chain;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Hindsight.Worker;

/// <summary>
/// The worker's checkpoints: once it holds the slot and then every interval, the chain head of its source is signed,
/// recorded in the store and, when a directory is configured, written there as a file. One instance lives as long as
/// the worker, so a reconnect does not sign again before it is due. A failure is logged and tried again at the next
/// interval; it never stops capture.
/// </summary>
internal sealed class CheckpointSchedule(NpgsqlDataSource store, SigningKey key, TimeSpan interval, string? directory, ILogger log)
{
    private DateTime _due = DateTime.MinValue;
    private bool _warned;

    /// <summary>Signs checkpoints of <paramref name="source"/> whenever due, until <paramref name="ct"/> is cancelled.</summary>
    public async Task RunAsync(string source, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            var wait = _due - DateTime.UtcNow;
            try { if (wait > TimeSpan.Zero) await Task.Delay(wait, ct).ConfigureAwait(false); }
            catch (OperationCanceledException) { return; }
            try
            {
                if (await new Checkpoints(store).MakeAsync(source, key, ct).ConfigureAwait(false) is { } made)
                {
                    var file = directory is null ? null : Checkpoints.WriteFile(made, directory);
                    log.LogInformation("checkpoint of source {Source}: {Blocks} blocks, {Changes} changes, root {Root} (key {KeyId}){File}",
                        source, made.Checkpoint.Blocks, made.Checkpoint.Changes, Convert.ToHexStringLower(made.Checkpoint.Root), made.KeyId,
                        file is null ? "" : $", written to {file}");
                }
                _warned = false;
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { return; }
            catch (Exception e) when (e is NpgsqlException or IOException or UnauthorizedAccessException or ChainException)
            {
                if (!_warned) log.LogWarning("could not make a checkpoint of source {Source} ({Error}); trying again in {Interval}", source,
                    e is PostgresException p ? p.MessageText : e.Message, interval);
                _warned = true;
            }
            if (!ct.IsCancellationRequested) _due = DateTime.UtcNow + interval;
        }
    }
}
