using Npgsql;

namespace Hindsight.Bench;

/// <summary>
/// Watches <c>hindsight.changes</c> from outside the worker: every ~2 ms it reads the rows with an id above the last
/// one seen, from a connection of its own, and notes when each transaction's change became visible there.
/// </summary>
/// <remarks>
/// Visibility, not insertion: a poll sees a row only once the store transaction that wrote it has committed (the
/// worker puts several source transactions into one store transaction), which <c>created_at</c> would not show.
/// The moment noted is when the poll's answer arrived: the row became visible at most one poll interval plus one
/// query earlier, so latencies are rounded up by that much, never down. Ids grow in commit order because one worker
/// session writes them in sequential transactions; the final count check would show a row skipped otherwise.
/// </remarks>
internal sealed class StorePoller(NpgsqlDataSource store, int total)
{
    /// <summary>Per transaction (seq): when a poll first saw its change (UtcNow ticks), 0 if never.</summary>
    public long[] VisibleTicks { get; } = new long[total];

    /// <summary>Per transaction: the source commit time stored with the change (<c>committed_at</c>, the commit record's
    /// timestamp as pgoutput sends it: the server clock when the source transaction committed).</summary>
    public long[] CommitTicks { get; } = new long[total];

    public int Seen { get; private set; }
    public List<double> PollIntervalsMs { get; } = [];

    public async Task RunAsync(string database, Func<bool> done, TimeSpan deadlineAfterDone, CancellationToken ct)
    {
        await using var conn = await store.OpenConnectionAsync(ct);
        await using var cmd = new NpgsqlCommand(
            """
            SELECT id, committed_at, CASE WHEN database = $2 AND "table" = 'lat' THEN (after->>'seq')::bigint ELSE -1 END
            FROM hindsight.changes WHERE id > $1 ORDER BY id LIMIT 5000
            """, conn);
        // Only the id range in the condition: a range scan of the primary key that reads just the new rows. With the table
        // and database in it too, the generic plan of this prepared statement could take the (table, primary_key, …) index
        // and read every stored change of the table each poll (polls then took 4-7 ms and grew with the store).
        var last = new NpgsqlParameter<long>();
        cmd.Parameters.Add(last);
        cmd.Parameters.AddWithValue(database);
        await cmd.PrepareAsync(ct);
        DateTime? doneAt = null;
        var previous = DateTime.UtcNow;
        while (Seen < total)
        {
            await using (var r = await cmd.ExecuteReaderAsync(ct))
            {
                var now = DateTime.UtcNow.Ticks; // the answer is here: everything in it was visible by now
                while (await r.ReadAsync(ct))
                {
                    last.TypedValue = r.GetInt64(0);
                    var seq = r.GetInt64(2);
                    if (seq < 0 || seq >= total || VisibleTicks[seq] != 0) continue;
                    VisibleTicks[seq] = now;
                    CommitTicks[seq] = r.GetDateTime(1).Ticks;
                    Seen++;
                }
            }
            if (done()) doneAt ??= DateTime.UtcNow;
            if (doneAt is { } d && DateTime.UtcNow - d > deadlineAfterDone) return;
            await Task.Delay(2, ct);
            var t = DateTime.UtcNow;
            PollIntervalsMs.Add((t - previous).TotalMilliseconds);
            previous = t;
        }
    }
}
