using Hindsight.Configuration;
using Hindsight.Tests.Infrastructure;
using Npgsql;

namespace Hindsight.Tests.Setup;

/// <summary>
/// Fresh databases for setup/status/teardown tests, with a slot name unique to each (slots are
/// cluster-wide). Disposing drops the slots those databases left behind, so the shared server's
/// max_replication_slots is not used up.
/// </summary>
public sealed class SetupTestDatabases(PostgresFixture fixture) : IAsyncDisposable
{
    private static int _slotCounter;
    private readonly List<string> _databases = [];

    /// <summary>A new database's connection string, and a slot name no other test uses.</summary>
    public async Task<(string ConnectionString, string Slot)> CreateAsync(string? schemaSql = null)
    {
        var cs = await fixture.CreateDatabaseAsync("setup");
        _databases.Add(new NpgsqlConnectionStringBuilder(cs).Database!);
        if (schemaSql is not null) await ExecAsync(cs, schemaSql);
        return (cs, $"hs_test_{Environment.ProcessId}_{Interlocked.Increment(ref _slotCounter)}");
    }

    /// <summary>Runs SQL in a database.</summary>
    public static async Task ExecAsync(string cs, string sql)
    {
        await using var conn = new NpgsqlConnection(cs);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, conn);
        await cmd.ExecuteNonQueryAsync();
    }

    /// <summary>Reads rows of text columns (null as null).</summary>
    public static async Task<List<string?[]>> QueryAsync(string cs, string sql, params object[] parameters)
    {
        await using var conn = new NpgsqlConnection(cs);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, conn);
        foreach (var p in parameters) cmd.Parameters.AddWithValue(p);
        await using var r = await cmd.ExecuteReaderAsync();
        var rows = new List<string?[]>();
        while (await r.ReadAsync())
        {
            var row = new string?[r.FieldCount];
            for (var i = 0; i < r.FieldCount; i++) row[i] = r.IsDBNull(i) ? null : Convert.ToString(r.GetValue(i), System.Globalization.CultureInfo.InvariantCulture);
            rows.Add(row);
        }
        return rows;
    }

    /// <summary>One value.</summary>
    public static async Task<T?> ScalarAsync<T>(string cs, string sql, params object[] parameters)
    {
        var rows = await QueryAsync(cs, sql, parameters);
        if (rows.Count == 0 || rows[0][0] is null) return default;
        return (T)Convert.ChangeType(rows[0][0]!, typeof(T), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>The publication's tables as PostgreSQL lists them: "schema.table", sorted.</summary>
    public static async Task<List<string>> PublicationTablesAsync(string cs, string publication = ConnectionOptions.DefaultPublication) =>
        (await QueryAsync(cs, "SELECT schemaname || '.' || tablename FROM pg_publication_tables WHERE pubname = $1 ORDER BY 1", publication))
        .Select(r => r[0]!).ToList();

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_databases.Count == 0) return;
        await using var conn = new NpgsqlConnection(fixture.Server.ConnectionString());
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand(
            "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = ANY($1) AND NOT active", conn);
        cmd.Parameters.AddWithValue(_databases.ToArray());
        await cmd.ExecuteNonQueryAsync();
    }
}
