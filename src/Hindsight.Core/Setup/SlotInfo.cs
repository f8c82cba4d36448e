using Npgsql;

namespace Hindsight.Setup;

/// <summary>A row of <c>pg_replication_slots</c>.</summary>
/// <param name="SlotType">physical or logical.</param>
/// <param name="Plugin">The output plugin (pgoutput).</param>
/// <param name="Database">The database of a logical slot.</param>
/// <param name="Active">Whether a walsender is reading it.</param>
/// <param name="ActivePid">That walsender's pid.</param>
/// <param name="WalStatus">reserved, extended, unreserved or lost.</param>
/// <param name="ConfirmedFlushLsn">The position the reader acknowledged.</param>
/// <param name="LagBytes">WAL written since the slot's confirmed position: what the worker has yet to store.</param>
/// <param name="RetainedBytes">WAL kept on the server's disk for the slot (since its <c>restart_lsn</c>).</param>
/// <param name="SafeWalBytes">WAL that can still be written before the slot is invalidated (null: no limit, <c>max_slot_wal_keep_size = -1</c>).</param>
internal sealed record SlotInfo(string SlotType, string? Plugin, string? Database, bool Active, int? ActivePid,
    string? WalStatus, string? ConfirmedFlushLsn, long? LagBytes, long? RetainedBytes = null, long? SafeWalBytes = null)
{
    public static async Task<SlotInfo?> ReadAsync(NpgsqlConnection conn, string slot, CancellationToken ct)
    {
        var cmd = new NpgsqlCommand(
            """
            SELECT slot_type, plugin::text, database::text, active, active_pid, wal_status, confirmed_flush_lsn::text,
                   CASE WHEN confirmed_flush_lsn IS NULL OR pg_is_in_recovery() THEN NULL
                        ELSE greatest(pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn), 0)::bigint END,
                   CASE WHEN restart_lsn IS NULL OR pg_is_in_recovery() THEN NULL
                        ELSE greatest(pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn), 0)::bigint END,
                   safe_wal_size
            FROM pg_replication_slots WHERE slot_name = $1
            """, conn);
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        cmd.Parameters.AddWithValue(slot);
        var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        await using var rDisposal = r.ConfigureAwait(false);
        if (!await r.ReadAsync(ct).ConfigureAwait(false)) return null;
        return new SlotInfo(r.GetString(0), r.IsDBNull(1) ? null : r.GetString(1), r.IsDBNull(2) ? null : r.GetString(2),
            r.GetBoolean(3), r.IsDBNull(4) ? null : r.GetInt32(4), r.IsDBNull(5) ? null : r.GetString(5),
            r.IsDBNull(6) ? null : r.GetString(6), r.IsDBNull(7) ? null : r.GetInt64(7),
            r.IsDBNull(8) ? null : r.GetInt64(8), r.IsDBNull(9) ? null : r.GetInt64(9));
    }
}
