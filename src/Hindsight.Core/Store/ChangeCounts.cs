using Npgsql;

namespace Hindsight.Store;

/// <summary>
/// The store's hourly change counts (<c>hindsight.change_counts</c>, store migration 12), which trends read for the
/// changes they cover and add the rest to, counted live.
/// </summary>
internal static class ChangeCounts
{
    /// <summary>
    /// Counts the changes stored since the last call into the hourly counts. Returns how many it counted, or null when
    /// writers kept the change table busy (the next call counts them), or on a store older than the counts.
    /// </summary>
    public static async Task<long?> CountAsync(NpgsqlDataSource store, CancellationToken ct)
    {
        var conn = await store.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var connDisposal = conn.ConfigureAwait(false);
        if (!await StoreMigrations.HasTableAsync(conn, null, StateTable, ct).ConfigureAwait(false)) return null;
        var cmd = new NpgsqlCommand("SELECT hindsight.count_changes()", conn);
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        return await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false) is long n ? n : null;
    }

    /// <summary>The table whose presence says the store keeps the counts.</summary>
    public const string StateTable = "change_counts_state";
}
