using Npgsql;

namespace Hindsight.Worker;

/// <summary>
/// Waits until everything committed in the source before the call is stored: writes a marker
/// message into the WAL and waits for the worker's progress to pass it. Used by the demo, the
/// tests and the benchmarks; useful to applications that must read their own audit trail.
/// </summary>
public static class CatchUp
{
    /// <summary>The prefix of the marker message (not a context prefix: it attributes nothing).</summary>
    internal const string MarkerPrefix = "hindsight-sync";

    /// <summary>Writes a marker into the source WAL and returns its LSN.</summary>
    public static async Task<ulong> MarkAsync(NpgsqlDataSource source, CancellationToken ct = default)
    {
        var cmd = source.CreateCommand($"SELECT pg_logical_emit_message(true, '{MarkerPrefix}', '')::text");
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        var lsn = (string)(await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
        return (ulong)NpgsqlTypes.NpgsqlLogSequenceNumber.Parse(lsn);
    }

    /// <summary>Waits until the store holds every source transaction committed before the call.</summary>
    /// <exception cref="TimeoutException">The worker did not get there within <paramref name="timeout"/>.</exception>
    public static async Task WaitAsync(NpgsqlDataSource source, NpgsqlDataSource store, string slot, TimeSpan timeout,
        CancellationToken ct = default)
    {
        var marker = await MarkAsync(source, ct).ConfigureAwait(false);
        var identity = await Store.SourceIdentity.ReadAsync(source, null, ct).ConfigureAwait(false);
        string? name = null;
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            // The worker registers the source when it starts: until then the store may not know its name.
            name ??= await Store.SourceRegistry.FindNameAsync(store, identity, null, ct).ConfigureAwait(false);
            if (name is not null)
            {
                var cmd = store.CreateCommand(
                    "SELECT last_commit_lsn FROM hindsight.progress WHERE slot = $1 AND source = $2");
                await using var cmdDisposal = cmd.ConfigureAwait(false);
                cmd.Parameters.AddWithValue(slot);
                cmd.Parameters.AddWithValue(name);
                if (await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false) is long stored && (ulong)stored >= marker) return;
            }
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"the store did not catch up with the source within {timeout.TotalSeconds:0}s");
            await Task.Delay(20, ct).ConfigureAwait(false);
        }
    }
}
