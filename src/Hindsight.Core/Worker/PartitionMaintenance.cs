using Hindsight.Store;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Hindsight.Worker;

/// <summary>
/// Keeps the store's partitions ahead of the changes, for as long as a worker captures: at the start of each session and
/// then every <see cref="Interval"/>. A store that is not partitioned is left as it is. Never fails the session: when the
/// store refuses (a store role without EXECUTE on the maintenance function), changes still go in, to the default
/// partition, and the worker says so once.
/// </summary>
internal static class PartitionMaintenance
{
    /// <summary>How often the partitions are looked at. The next ones are made days to months ahead, so this only bounds
    /// how long a change outside them (a clock jump) waits in the default partition.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromMinutes(10);

    public static async Task RunAsync(NpgsqlDataSource store, ILogger log, CancellationToken ct)
    {
        var warned = false;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                var created = await ChangePartitions.MaintainAsync(store, ct).ConfigureAwait(false);
                if (created > 0) log.LogInformation("made {Count} new partition(s) of hindsight.changes", created);
                warned = false;
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { return; }
            catch (Exception e) when (e is NpgsqlException or InvalidOperationException)
            {
                if (!warned)
                    log.LogWarning("could not make the store's next partitions ({Error}); changes outside the existing ones go to " +
                                   "hindsight.changes_default until it can", e is PostgresException p ? p.MessageText : e.Message);
                warned = true;
            }
            try { await Task.Delay(Interval, ct).ConfigureAwait(false); }
            catch (OperationCanceledException) { return; }
        }
    }
}
