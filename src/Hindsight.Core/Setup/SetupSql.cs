using System.Globalization;
using Npgsql;

namespace Hindsight.Setup;

/// <summary>
/// Statements setup and teardown run as they are written: DDL, grants and session settings, which take no parameters.
/// Callers splice only constants, catalog output (<c>regprocedure</c> text) and names quoted with <see cref="Postgres.PgNames.Quote(string)"/>.
/// </summary>
internal static class SetupSql
{
    /// <summary>Runs <paramref name="sql"/> on <paramref name="conn"/>, in <paramref name="tx"/> when one is given.</summary>
    public static async Task ExecAsync(NpgsqlConnection conn, NpgsqlTransaction? tx, string sql, CancellationToken ct)
    {
        var cmd = new NpgsqlCommand(sql, conn, tx);
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Whether the source and the store give the same (non-null) answer to <paramref name="sql"/>: the same cluster, or the
    /// same database. A server that does not let the user read it counts as another.
    /// </summary>
    public static async Task<bool> SameAnswerAsync(NpgsqlConnection source, NpgsqlDataSource store, string sql, CancellationToken ct)
    {
        try
        {
            var a = new NpgsqlCommand(sql, source);
            await using var aDisposal = a.ConfigureAwait(false);
            var left = (string?)await a.ExecuteScalarAsync(ct).ConfigureAwait(false);
            var b = store.CreateCommand(sql);
            await using var bDisposal = b.ConfigureAwait(false);
            return left is not null && left == (string?)await b.ExecuteScalarAsync(ct).ConfigureAwait(false);
        }
        catch (PostgresException) { return false; }
    }

    /// <summary>How long statements of <paramref name="tx"/> wait for a lock before failing (<c>SET LOCAL lock_timeout</c>; at least 1 ms).</summary>
    public static Task SetLockTimeoutAsync(NpgsqlConnection conn, NpgsqlTransaction tx, TimeSpan timeout, CancellationToken ct) =>
        ExecAsync(conn, tx, string.Create(CultureInfo.InvariantCulture, $"SET LOCAL lock_timeout = {Math.Max(1, (long)timeout.TotalMilliseconds)}"), ct);

    /// <summary>
    /// Drops the source's schema <c>hindsight</c> when nothing is left in it: with the store in another database, it held
    /// only the functions setup installed there. With the store here, the store's tables keep it.
    /// </summary>
    public static Task DropSourceSchemaIfEmptyAsync(NpgsqlConnection conn, NpgsqlTransaction? tx, CancellationToken ct) =>
        ExecAsync(conn, tx,
            """
            DO $$ BEGIN
              IF to_regnamespace('hindsight') IS NOT NULL AND NOT EXISTS (
                  SELECT 1 FROM pg_depend WHERE refclassid = 'pg_namespace'::regclass AND refobjid = 'hindsight'::regnamespace) THEN
                DROP SCHEMA hindsight;
              END IF;
            END $$
            """, ct);

    /// <summary>Whether an event trigger named <paramref name="name"/> exists.</summary>
    public static async Task<bool> EventTriggerExistsAsync(NpgsqlConnection conn, NpgsqlTransaction? tx, string name, CancellationToken ct)
    {
        var cmd = new NpgsqlCommand("SELECT EXISTS (SELECT 1 FROM pg_event_trigger WHERE evtname = $1)", conn, tx);
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        cmd.Parameters.AddWithValue(name);
        return (bool)(await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
    }

    /// <summary>
    /// <paramref name="prefix"/> and the first 12 hex digits of the SHA-256 of <paramref name="publication"/>: the name of
    /// an object setup makes per publication, a valid unquoted identifier whatever the publication is called.
    /// </summary>
    public static string PerPublicationName(string prefix, string publication) =>
        prefix + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(publication)))[..12];
}
