using Npgsql;

namespace Hindsight.Setup;

/// <summary>A row of <c>pg_replication_slots</c>.</summary>
internal sealed record SlotInfo(string SlotType, string? Plugin, string? Database, bool Active, int? ActivePid,
    string? WalStatus, string? ConfirmedFlushLsn, long? LagBytes)
{
    public static async Task<SlotInfo?> ReadAsync(NpgsqlConnection conn, string slot, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(
            """
            SELECT slot_type, plugin::text, database::text, active, active_pid, wal_status, confirmed_flush_lsn::text,
                   CASE WHEN confirmed_flush_lsn IS NULL OR pg_is_in_recovery() THEN NULL
                        ELSE greatest(pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn), 0)::bigint END
            FROM pg_replication_slots WHERE slot_name = $1
            """, conn);
        cmd.Parameters.AddWithValue(slot);
        await using var r = await cmd.ExecuteReaderAsync(ct);
        if (!await r.ReadAsync(ct)) return null;
        return new SlotInfo(r.GetString(0), r.IsDBNull(1) ? null : r.GetString(1), r.IsDBNull(2) ? null : r.GetString(2),
            r.GetBoolean(3), r.IsDBNull(4) ? null : r.GetInt32(4), r.IsDBNull(5) ? null : r.GetString(5),
            r.IsDBNull(6) ? null : r.GetString(6), r.IsDBNull(7) ? null : r.GetInt64(7));
    }
}
