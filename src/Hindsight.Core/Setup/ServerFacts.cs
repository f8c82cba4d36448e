using Npgsql;

namespace Hindsight.Setup;

/// <summary>Server facts setup and status need.</summary>
internal sealed record ServerFacts(int VersionNum, string Version, string WalLevel, string Database, string User,
    int MaxReplicationSlots, int UsedReplicationSlots, bool IsSuperuser, bool HasReplication)
{
    public static async Task<ServerFacts> ReadAsync(NpgsqlConnection conn, CancellationToken ct)
    {
        var cmd = new NpgsqlCommand(
            """
            SELECT current_setting('server_version_num')::int, current_setting('server_version'), current_setting('wal_level'),
                   current_database()::text, current_user::text, current_setting('max_replication_slots')::int,
                   (SELECT count(*) FROM pg_replication_slots)::int, r.rolsuper, r.rolreplication
            FROM pg_roles r WHERE r.rolname = current_user
            """, conn);
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        await using var rDisposal = r.ConfigureAwait(false);
        if (!await r.ReadAsync(ct).ConfigureAwait(false)) throw new SetupException("could not read the server's settings");
        return new ServerFacts(r.GetInt32(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4),
            r.GetInt32(5), r.GetInt32(6), r.GetBoolean(7), r.GetBoolean(8));
    }
}
