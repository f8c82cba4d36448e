using Hindsight.Store;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Hindsight.Worker;

/// <summary>
/// The store's upkeep, done by the worker that holds the slot: every <see cref="Interval"/> it makes the partitions due
/// (a store that is not partitioned is left as it is) and applies the retention policies the store's owner set
/// (<c>hindsight retention set</c>), and brings the hourly change counts of trends up to date. One instance lives as long as the worker, so a session that ends and starts again
/// (a reconnect, a takeover) does not run it again before it is due. It never fails a session: when the store refuses (a
/// role without EXECUTE on the upkeep functions), changes still go in (outside the partitions ahead, to the default
/// partition) and nothing is pruned, and the worker says so once.
/// </summary>
internal sealed class StoreUpkeep(NpgsqlDataSource store, ILogger log)
{
    /// <summary>How often the store is looked after. Partitions are made days to months ahead, so this bounds how long a
    /// change outside them (a clock jump) waits in the default partition, and how far past its policy a change is kept.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromMinutes(10);

    private DateTime _due = DateTime.MinValue;
    private bool _partitionsWarned, _retentionWarned, _countsWarned;

    /// <summary>Runs the upkeep whenever it is due, until <paramref name="ct"/> is cancelled (then returns).</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            var wait = _due - DateTime.UtcNow;
            try { if (wait > TimeSpan.Zero) await Task.Delay(wait, ct).ConfigureAwait(false); }
            catch (OperationCanceledException) { return; }
            _partitionsWarned = await TryAsync(_partitionsWarned, async () =>
            {
                var created = await ChangePartitions.MaintainAsync(store, ct).ConfigureAwait(false);
                if (created > 0) log.LogInformation("made {Count} new partition(s) of hindsight.changes", created);
            }, "could not make the store's next partitions ({Error}); changes outside the existing ones go to hindsight.changes_default until it can", ct)
                .ConfigureAwait(false);
            _retentionWarned = await TryAsync(_retentionWarned, async () =>
            {
                var pruned = await new Retention.Pruner(store).ApplyPoliciesAsync(ct).ConfigureAwait(false);
                foreach (var t in pruned.Tables)
                    log.LogInformation("retention: pruned {Pruned} change(s) of {Schema}.{Table} (source {Source}), {Folded} row(s) kept as SNAPSHOT, {Held} held",
                        t.Pruned, t.Schema, t.Table, t.Source, t.Folded, t.Held);
                if (pruned.DroppedPartitions.Count > 0) log.LogInformation("retention: dropped {Partitions}", string.Join(", ", pruned.DroppedPartitions));
            }, "could not apply the store's retention policies ({Error}); nothing was pruned", ct).ConfigureAwait(false);
            _countsWarned = await TryAsync(_countsWarned, () => ChangeCounts.CountAsync(store, ct),
                "could not bring the store's change counts up to date ({Error}); trends count the changes since live", ct).ConfigureAwait(false);
            if (!ct.IsCancellationRequested) _due = DateTime.UtcNow + Interval;
        }
    }

    /// <summary>Runs one upkeep step; a failure is logged once until the step succeeds again. Returns whether it is (still) failing.</summary>
    private async Task<bool> TryAsync(bool warned, Func<Task> step, string warning, CancellationToken ct)
    {
        try
        {
            await step().ConfigureAwait(false);
            return false;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { return warned; }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException or Retention.RetentionException)
        {
#pragma warning disable CA2254 // the two templates are constants of this class
            if (!warned) log.LogWarning(warning, e is PostgresException p ? p.MessageText : e.Message);
#pragma warning restore CA2254
            return true;
        }
    }
}
