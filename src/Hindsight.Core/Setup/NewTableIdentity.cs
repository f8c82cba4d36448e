using Hindsight.Store;
using Npgsql;
using static Hindsight.Setup.SetupSql;

namespace Hindsight.Setup;

/// <summary>
/// Gives tables created later in a published schema the replica identity setup gives tracked tables, in the statement
/// that creates them: an event trigger (superuser only) on <c>CREATE TABLE</c>, <c>CREATE TABLE AS</c> and
/// <c>SELECT INTO</c>. Without it a new table starts with REPLICA IDENTITY DEFAULT: its UPDATE and DELETE lose their
/// before-images, and, without a primary key, are rejected once the publication covers the table.
/// </summary>
/// <remarks>
/// Which publications want which rule is kept in the source database, in <c>hindsight.new_table_identity</c> (one row per
/// publication setup made FOR TABLES IN SCHEMA), so one trigger serves every publication of the database and teardown
/// removes it with the last row. A table attached later as a partition (<c>ALTER TABLE … ATTACH PARTITION</c>) is not
/// covered: run setup again after attaching one.
/// </remarks>
internal static class NewTableIdentity
{
    /// <summary>Name of the event trigger.</summary>
    public const string EventTriggerName = "hindsight_new_table_identity";

    private const string FunctionSql = """
        CREATE TABLE IF NOT EXISTS hindsight.new_table_identity (
            publication text PRIMARY KEY,
            full_identity boolean NOT NULL
        );
        CREATE OR REPLACE FUNCTION hindsight.on_table_created() RETURNS event_trigger
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
        DECLARE
            t record;
        BEGIN
            -- Never fail the user's statement because Hindsight's own table is gone (a purged store, say).
            IF to_regclass('hindsight.new_table_identity') IS NULL THEN
                RETURN;
            END IF;
            FOR t IN
                SELECT DISTINCT n.nspname, c.relname
                FROM pg_event_trigger_ddl_commands() d
                JOIN pg_class c ON c.oid = d.objid
                JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE d.classid = 'pg_class'::regclass AND c.relkind IN ('r', 'p') AND c.relreplident <> 'f'
                  AND EXISTS (
                      SELECT 1 FROM hindsight.new_table_identity r
                      JOIN pg_publication p ON p.pubname = r.publication
                      JOIN pg_publication_namespace pn ON pn.pnpubid = p.oid AND pn.pnnspid = c.relnamespace
                      -- The rule of setup: FULL everywhere, or (--replica-identity default) only where UPDATE and
                      -- DELETE would otherwise be rejected.
                      WHERE r.full_identity OR c.relreplident = 'n'
                         OR (c.relreplident = 'd' AND c.relkind = 'r'
                             AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary)))
            LOOP
                EXECUTE format('ALTER TABLE ONLY %I.%I REPLICA IDENTITY FULL', t.nspname, t.relname);
            END LOOP;
        END
        $fn$;
        REVOKE ALL ON FUNCTION hindsight.on_table_created() FROM PUBLIC;
        """;

    private const string EventTriggerSql =
        $"CREATE EVENT TRIGGER {EventTriggerName} ON ddl_command_end " +
        "WHEN TAG IN ('CREATE TABLE', 'CREATE TABLE AS', 'SELECT INTO') EXECUTE FUNCTION hindsight.on_table_created()";

    /// <summary>
    /// Installs (or updates) the trigger and records the publication's rule. Runs in setup's source transaction, so it
    /// lands with the publication or not at all.
    /// </summary>
    public static async Task InstallAsync(NpgsqlConnection conn, NpgsqlTransaction tx, string publication, bool fullIdentity, CancellationToken ct)
    {
        await ExecAsync(conn, tx, $"CREATE SCHEMA IF NOT EXISTS {Postgres.PgNames.Quote(StoreMigrations.Schema)}", ct).ConfigureAwait(false);
        await ExecAsync(conn, tx, FunctionSql, ct).ConfigureAwait(false);
        var upsert = new NpgsqlCommand(
            "INSERT INTO hindsight.new_table_identity (publication, full_identity) VALUES ($1, $2) " +
            "ON CONFLICT (publication) DO UPDATE SET full_identity = excluded.full_identity", conn, tx);
        await using (upsert.ConfigureAwait(false))
        {
            upsert.Parameters.AddWithValue(publication);
            upsert.Parameters.AddWithValue(fullIdentity);
            await upsert.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
        if (!await TriggerExistsAsync(conn, tx, ct).ConfigureAwait(false))
            await ExecAsync(conn, tx, EventTriggerSql, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Forgets the publication's rule (setup with a table list, or teardown); removes the trigger, its function and table
    /// with the last rule. Returns whether anything was removed.
    /// </summary>
    public static async Task<bool> RemoveAsync(NpgsqlConnection conn, NpgsqlTransaction? tx, string publication, CancellationToken ct)
    {
        var exists = new NpgsqlCommand("SELECT to_regclass('hindsight.new_table_identity') IS NOT NULL", conn, tx);
        await using (exists.ConfigureAwait(false))
            if (!(bool)(await exists.ExecuteScalarAsync(ct).ConfigureAwait(false))!) return false;
        var delete = new NpgsqlCommand(
            "WITH d AS (DELETE FROM hindsight.new_table_identity WHERE publication = $1 RETURNING 1) " +
            "SELECT (SELECT count(*) FROM d), (SELECT count(*) FROM hindsight.new_table_identity WHERE publication <> $1)", conn, tx);
        long deleted, left;
        await using (delete.ConfigureAwait(false))
        {
            delete.Parameters.AddWithValue(publication);
            var r = await delete.ExecuteReaderAsync(ct).ConfigureAwait(false);
            await using (r.ConfigureAwait(false))
            {
                await r.ReadAsync(ct).ConfigureAwait(false);
                (deleted, left) = (r.GetInt64(0), r.GetInt64(1));
            }
        }
        if (left > 0) return deleted > 0;
        await ExecAsync(conn, tx, $"DROP EVENT TRIGGER IF EXISTS {EventTriggerName}", ct).ConfigureAwait(false);
        await ExecAsync(conn, tx, "DROP FUNCTION IF EXISTS hindsight.on_table_created()", ct).ConfigureAwait(false);
        await ExecAsync(conn, tx, "DROP TABLE IF EXISTS hindsight.new_table_identity", ct).ConfigureAwait(false);
        return true;
    }

    private static async Task<bool> TriggerExistsAsync(NpgsqlConnection conn, NpgsqlTransaction tx, CancellationToken ct)
    {
        var cmd = new NpgsqlCommand("SELECT EXISTS (SELECT 1 FROM pg_event_trigger WHERE evtname = $1)", conn, tx);
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        cmd.Parameters.AddWithValue(EventTriggerName);
        return (bool)(await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
    }
}
