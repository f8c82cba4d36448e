using Npgsql;

namespace Hindsight.Store;

/// <summary>
/// A table a store migration adds, as a long-lived reader sees it: asked for until the store has it (setup may migrate
/// the store meanwhile), then remembered, since migrations only go forward.
/// </summary>
/// <param name="table">The table's name in schema <c>hindsight</c>.</param>
internal sealed class MigratedTable(string table)
{
    private volatile bool _seen;

    /// <summary>Whether the store has the table (<see cref="StoreMigrations.HasTableAsync"/>, until it says yes).</summary>
    public async ValueTask<bool> ExistsAsync(NpgsqlConnection conn, CancellationToken ct) =>
        _seen || (_seen = await StoreMigrations.HasTableAsync(conn, null, table, ct).ConfigureAwait(false));
}
