using System.Globalization;
using System.Text.Json;
using Hindsight.Tests.Server.Api;
using Npgsql;

namespace Hindsight.Tests.Server.Dashboard;

/// <summary>Writing test data with context, and reading what the store holds, for the dashboard's tests.</summary>
internal static class DashboardData
{
    /// <summary>Runs <paramref name="sql"/> in one transaction whose changes carry <paramref name="context"/> (a native context message).</summary>
    public static async Task WriteAsync(ApiServer s, object context, string sql)
    {
        await using var conn = await s.Harness.Source.OpenConnectionAsync();
        await using var tx = await conn.BeginTransactionAsync();
        await using (var emit = new NpgsqlCommand("SELECT pg_logical_emit_message(true, 'hindsight', $1)", conn, tx))
        {
            emit.Parameters.AddWithValue(JsonSerializer.Serialize(context));
            await emit.ExecuteNonQueryAsync();
        }
        await using (var cmd = new NpgsqlCommand(sql, conn, tx)) await cmd.ExecuteNonQueryAsync();
        await tx.CommitAsync();
    }

    /// <summary>Stored changes whose context contains <paramref name="contextJson"/>, counted by PostgreSQL.</summary>
    public static Task<long> CountAsync(ApiServer s, string contextJson) =>
        s.Harness.ScalarAsync<long>("SELECT count(*) FROM hindsight.changes WHERE context @> $1::jsonb", contextJson);

    /// <summary>The id of the one stored change whose context contains <paramref name="contextJson"/>.</summary>
    public static Task<long> ChangeIdAsync(ApiServer s, string contextJson) =>
        s.Harness.ScalarAsync<long>("SELECT id FROM hindsight.changes WHERE context @> $1::jsonb ORDER BY id LIMIT 1", contextJson);

    /// <summary>The commit time of a stored change, as the API writes times (UTC, microseconds).</summary>
    public static async Task<string> CommittedAtAsync(ApiServer s, string contextJson)
    {
        await using var cmd = s.Harness.Source.CreateCommand(
            "SELECT committed_at FROM hindsight.changes WHERE context @> $1::jsonb ORDER BY id LIMIT 1");
        cmd.Parameters.AddWithValue(contextJson);
        var t = (DateTime)(await cmd.ExecuteScalarAsync())!;
        return t.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);
    }
}
