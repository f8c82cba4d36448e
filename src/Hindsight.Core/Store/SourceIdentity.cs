using Npgsql;
using Npgsql.Replication;

namespace Hindsight.Store;

/// <summary>
/// What identifies a tracked database whatever it is called: its server's system identifier (chosen at initdb, the same
/// on every connection to that cluster, different on every other cluster) and the database's name.
/// </summary>
/// <param name="SystemIdentifier">The cluster's system identifier, or null when the role may not read it (then sources
/// are matched by database name alone, and only where that is unambiguous).</param>
/// <param name="Database">The database's name.</param>
public sealed record SourceIdentity(string? SystemIdentifier, string Database)
{
    /// <summary>How a person reads it in messages.</summary>
    public override string ToString() =>
        SystemIdentifier is null ? $"database {Database}" : $"database {Database} of server {SystemIdentifier}";

    /// <summary>
    /// Reads the identity of the database <paramref name="source"/> connects to. The system identifier comes from
    /// <c>pg_control_system()</c>; where the role may not call it (some managed servers revoke it), from the replication
    /// protocol's IDENTIFY_SYSTEM when <paramref name="replicationConnectionString"/> is given (the capture role has
    /// REPLICATION), else it stays unknown.
    /// </summary>
    public static async Task<SourceIdentity> ReadAsync(NpgsqlDataSource source, string? replicationConnectionString, CancellationToken ct)
    {
        var conn = await source.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var connDisposal = conn.ConfigureAwait(false);
        return await ReadAsync(conn, replicationConnectionString, ct).ConfigureAwait(false);
    }

    /// <inheritdoc cref="ReadAsync(NpgsqlDataSource, string?, CancellationToken)"/>
    public static async Task<SourceIdentity> ReadAsync(NpgsqlConnection source, string? replicationConnectionString, CancellationToken ct)
    {
        string database;
        {
            var cmd = new NpgsqlCommand("SELECT current_database()::text", source);
            await using (cmd.ConfigureAwait(false))
                database = (string)(await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
        }
        try
        {
            var cmd = new NpgsqlCommand("SELECT system_identifier::text FROM pg_control_system()", source);
            await using var cmdDisposal = cmd.ConfigureAwait(false);
            return new SourceIdentity((string?)await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false), database);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.InsufficientPrivilege)
        {
            if (replicationConnectionString is null) return new SourceIdentity(null, database);
        }
        try
        {
            var replication = new LogicalReplicationConnection(replicationConnectionString);
            await using var replicationDisposal = replication.ConfigureAwait(false);
            await replication.Open(ct).ConfigureAwait(false);
            var system = await replication.IdentifySystem(ct).ConfigureAwait(false);
            return new SourceIdentity(system.SystemId, database);
        }
        catch (PostgresException)
        {
            return new SourceIdentity(null, database);
        }
    }
}
