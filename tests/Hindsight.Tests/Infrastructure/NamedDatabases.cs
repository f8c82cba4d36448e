using Hindsight.Embedded;
using Hindsight.Setup;
using Npgsql;

namespace Hindsight.Tests.Infrastructure;

/// <summary>
/// Databases given their names on any private server (tests of several sources need the same database name on two
/// servers), and one source set up into a store of its own.
/// </summary>
public static class NamedDatabases
{
    /// <summary>Creates database <paramref name="name"/> on <paramref name="server"/>; returns its connection string.</summary>
    public static async Task<string> CreateAsync(PrivatePostgresServer server, string name)
    {
        await using var conn = new NpgsqlConnection(server.ConnectionString());
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", conn);
        await cmd.ExecuteNonQueryAsync();
        return server.ConnectionString(name);
    }

    /// <summary>Runs the real setup of <paramref name="source"/>'s <paramref name="tables"/> into <paramref name="store"/>.</summary>
    public static Task<SetupReport> SetupSourceAsync(string source, string store, string? sourceName, string slot, params string[] tables) =>
        new SetupRunner(new SetupOptions
        {
            SourceConnectionString = source, StoreConnectionString = store, SourceName = sourceName, Slot = slot, Publication = slot, Tables = tables,
        }).RunAsync();
}
