using System.Diagnostics;
using Npgsql;

namespace Hindsight.Bench;

/// <summary>
/// Drives small transactions on a fixed schedule: transaction <c>i</c> is due at <c>Start + i / rate</c>, whichever of
/// several connections is free takes the next one. A stall therefore delays later sends instead of thinning the
/// schedule (no coordinated omission): latencies measured from <see cref="Scheduled"/> include the wait.
/// </summary>
/// <remarks>Even <c>i</c>: one INSERT of a new row (ids distinct per <paramref name="phase"/>, for several schedules in one database); odd <c>i</c>: one UPDATE of a seeded row. Each writes <c>seq = i</c>,
/// so a stored change names its transaction. Times are <see cref="DateTime.UtcNow"/> ticks (CLOCK_REALTIME, the clock
/// PostgreSQL's timestamps on this machine come from).</remarks>
internal sealed class RateDriver(NpgsqlDataSource ds, int rate, int connections, int total, int phase)
{
    public const string Table = "public.lat";
    public const int SeededRows = 10_000;
    private const long InsertIdBase = 1_000_000_000;

    public const string Schema =
        """
        CREATE TABLE public.lat (id bigint PRIMARY KEY, seq bigint NOT NULL, label text NOT NULL, at timestamptz NOT NULL);
        INSERT INTO public.lat SELECT g, -1, 'seed ' || g, now() FROM generate_series(1, 10000) g;
        """;

    private long _next = -1;

    public DateTime Start { get; private set; }
    public long[] SentTicks { get; } = new long[total];
    public long[] ReturnedTicks { get; } = new long[total];
    public int Total => total;
    public int Rate => rate;

    public DateTime Scheduled(long i) => Start + TimeSpan.FromTicks(i * TimeSpan.TicksPerSecond / rate);

    /// <summary>Opens the connections, then runs the schedule from a moment shortly after.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        var conns = new List<NpgsqlConnection>();
        try
        {
            for (var c = 0; c < connections; c++)
            {
                var conn = await ds.OpenConnectionAsync(ct);
                conns.Add(conn);
                // The bench server runs synchronous_commit=off, and a walsender decodes only flushed WAL: the commits
                // would wait for the WAL writer (wal_writer_delay, 200 ms) before any consumer could see them.
                // Applications commit with the default (on); with fsync=off the flush itself is cheap.
                await BenchServer.ExecAsync(conn, "SET synchronous_commit = on");
            }
            Start = DateTime.UtcNow.AddMilliseconds(100);
            await Task.WhenAll(conns.Select(c => Task.Run(() => LoopAsync(c, ct), ct)));
        }
        finally
        {
            foreach (var c in conns) await c.DisposeAsync();
        }
    }

    private async Task LoopAsync(NpgsqlConnection conn, CancellationToken ct)
    {
        await using var insert = new NpgsqlCommand($"INSERT INTO {Table} (id, seq, label, at) VALUES ($1, $2, 'row ' || $2, now())", conn);
        insert.Parameters.Add(new NpgsqlParameter<long>()); insert.Parameters.Add(new NpgsqlParameter<long>());
        await insert.PrepareAsync(ct);
        await using var update = new NpgsqlCommand($"UPDATE {Table} SET seq = $2, label = 'row ' || $2, at = now() WHERE id = $1", conn);
        update.Parameters.Add(new NpgsqlParameter<long>()); update.Parameters.Add(new NpgsqlParameter<long>());
        await update.PrepareAsync(ct);
        while (true)
        {
            var i = Interlocked.Increment(ref _next);
            if (i >= total) return;
            var wait = Scheduled(i) - DateTime.UtcNow;
            if (wait > TimeSpan.Zero) await Task.Delay(wait, ct);
            var cmd = i % 2 == 0 ? insert : update;
            ((NpgsqlParameter<long>)cmd.Parameters[0]).TypedValue = i % 2 == 0 ? InsertIdBase * (phase + 1) + i : i / 2 % SeededRows + 1;
            ((NpgsqlParameter<long>)cmd.Parameters[1]).TypedValue = i;
            SentTicks[i] = DateTime.UtcNow.Ticks;
            await cmd.ExecuteNonQueryAsync(ct); // autocommit: one statement, one transaction
            ReturnedTicks[i] = DateTime.UtcNow.Ticks;
        }
    }
}
