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
/// One function and one event trigger per publication, named after a digest of the publication's name, with the
/// publication and its rule written into the function: nothing else is kept in the source database (with the store
/// elsewhere, its schema <c>hindsight</c> holds only these functions, and goes with the last of them). A table attached
/// later as a partition (<c>ALTER TABLE … ATTACH PARTITION</c>) is not covered: run setup again after attaching one.
/// </remarks>
internal static class NewTableIdentity
{
    /// <summary>What every name of these triggers and functions starts with.</summary>
    public const string NamePrefix = "hindsight_new_table_identity_";

    // Built on the server with format(), so the publication's name reaches the function body only as a quoted literal.
    private const string FunctionTemplate = """
        SELECT format($template$
        CREATE OR REPLACE FUNCTION hindsight.%I() RETURNS event_trigger
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
        DECLARE
            t record;
        BEGIN
            FOR t IN
                SELECT DISTINCT n.nspname, c.relname
                FROM pg_event_trigger_ddl_commands() d
                JOIN pg_class c ON c.oid = d.objid
                JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE d.classid = 'pg_class'::regclass AND c.relkind IN ('r', 'p') AND c.relreplident <> 'f'
                  AND EXISTS (
                      SELECT 1 FROM pg_publication p
                      JOIN pg_publication_namespace pn ON pn.pnpubid = p.oid AND pn.pnnspid = c.relnamespace
                      WHERE p.pubname = %L)
                  -- The rule of setup: FULL everywhere, or (--replica-identity default) only where UPDATE and DELETE
                  -- would otherwise be rejected.
                  AND (%L::boolean OR c.relreplident = 'n'
                       OR (c.relreplident = 'd' AND c.relkind = 'r'
                           AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary)))
            LOOP
                -- Not a schema change of its own: the CREATE that caused it is reported with the identity it ends with.
                PERFORM set_config('hindsight.schema_changes_quiet', 'on', true);
                EXECUTE format('ALTER TABLE ONLY %%I.%%I REPLICA IDENTITY FULL', t.nspname, t.relname);
                PERFORM set_config('hindsight.schema_changes_quiet', 'off', true);
            END LOOP;
        END
        $fn$
        $template$, $1::text, $2::text, $3::boolean)
        """;

    /// <summary>The event trigger's (and its function's) name for <paramref name="publication"/>.</summary>
    public static string EventTriggerName(string publication) =>
        PerPublicationName(NamePrefix, publication);

    /// <summary>
    /// Installs (or updates) the publication's function and trigger. Runs in setup's source transaction, so it lands with
    /// the publication or not at all.
    /// </summary>
    public static async Task InstallAsync(NpgsqlConnection conn, NpgsqlTransaction tx, string publication, bool fullIdentity, CancellationToken ct)
    {
        var name = EventTriggerName(publication);
        await EventTriggerFunctions.InstallAsync(conn, tx, name, FunctionTemplate, [publication, fullIdentity], ct).ConfigureAwait(false);
        await EventTriggerFunctions.EnsureTriggerAsync(conn, tx, name,
            "ddl_command_end WHEN TAG IN ('CREATE TABLE', 'CREATE TABLE AS', 'SELECT INTO')", name, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Removes the publication's trigger and function (setup with a table list, or teardown), and the source's schema
    /// <c>hindsight</c> when nothing is left in it. Returns whether there was a trigger.
    /// </summary>
    public static Task<bool> RemoveAsync(NpgsqlConnection conn, NpgsqlTransaction? tx, string publication, CancellationToken ct)
    {
        var name = EventTriggerName(publication);
        return EventTriggerFunctions.RemoveAsync(conn, tx, name, [name], ct);
    }
}
