using Hindsight.Capture;
using Hindsight.Store;
using Npgsql;
using static Hindsight.Setup.SetupSql;

namespace Hindsight.Setup;

/// <summary>
/// Puts schema changes of tracked tables into the WAL, in order with the row changes: an event trigger (superuser only)
/// that emits a transactional logical decoding message (prefix <see cref="SchemaMessage.Prefix"/>) for each
/// <c>CREATE TABLE</c>, <c>ALTER TABLE</c> and <c>DROP TABLE</c>, with the statement, the role and the table's columns
/// after the command. PostgreSQL's logical replication carries no DDL; without this the trail cannot say when a column
/// was renamed or dropped, nor answer as-of with the columns a table had then.
/// </summary>
/// <remarks>
/// <para>One function and two event triggers per publication (<c>ddl_command_end</c>, and <c>sql_drop</c> for dropped
/// tables), named after a digest of the publication's name, with the publication written into the function.</para>
/// <para>Which tables: those the publication covers after the command (a table list, a published schema, FOR ALL
/// TABLES, or a partition of a published table). A dropped table is gone from the catalogs by the time
/// <c>sql_drop</c> fires, so every dropped table outside the system schemas is emitted and the sink keeps only the drops
/// of tables the trail already knows. A table moved out of a published schema is not followed.</para>
/// <para>Statements run by Hindsight's own event triggers (the new-table replica identity) set
/// <see cref="QuietSetting"/> for their duration, so they are not reported as changes of their own.</para>
/// </remarks>
internal static class SchemaChangeTrigger
{
    /// <summary>What every name of these triggers and functions starts with.</summary>
    public const string NamePrefix = "hindsight_schema_changes_";

    /// <summary>A transaction-local setting that, when <c>on</c>, keeps the trigger quiet (see remarks).</summary>
    public const string QuietSetting = "hindsight.schema_changes_quiet";

    /// <summary>Statements longer than this (characters) are stored cut, with <c>statement_truncated</c>: a migration
    /// script sent as one query string is the statement of every command in it.</summary>
    public const int MaxStatementLength = 1 << 20;

    /// <summary>
    /// The table's columns after the command, as JSON: attnum, name, type, not-null, default (or generation) expression,
    /// and, for a column added with a constant default, the value rows written before it read (<c>missing</c>, as
    /// <c>to_jsonb()</c> renders it, which is what row images hold).
    /// </summary>
    internal static string ColumnsJson(string relid) => $$"""
        (SELECT coalesce(jsonb_agg(jsonb_build_object(
                    'attnum', a.attnum, 'name', a.attname, 'type', format_type(a.atttypid, a.atttypmod),
                    'not_null', a.attnotnull, 'default', pg_get_expr(ad.adbin, ad.adrelid), 'generated', a.attgenerated <> '')
                 || CASE WHEN a.atthasmissing THEN jsonb_build_object('missing', to_jsonb(a.attmissingval) -> 0) ELSE '{}' END
                 ORDER BY a.attnum), '[]')
         FROM pg_attribute a LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
         WHERE a.attrelid = {{relid}} AND a.attnum > 0 AND NOT a.attisdropped)
        """;

    /// <summary>Partitioning facts of a table: what it is a partition of, and (partitioned) its partitions.</summary>
    private static string PartitionsJson(string relid) => $"""
        jsonb_build_object(
            'partition_of', (SELECT format('%I.%I', pn.nspname, pc.relname) FROM pg_inherits i
                             JOIN pg_class pc ON pc.oid = i.inhparent JOIN pg_namespace pn ON pn.oid = pc.relnamespace
                             WHERE i.inhrelid = {relid} AND pc.relkind = 'p'),
            'partitions', (SELECT coalesce(jsonb_agg(format('%I.%I', cn.nspname, cc.relname) ORDER BY cn.nspname, cc.relname), '[]') FROM pg_inherits i
                           JOIN pg_class cc ON cc.oid = i.inhrelid JOIN pg_namespace cn ON cn.oid = cc.relnamespace
                           WHERE i.inhparent = {relid}))
        """;

    /// <summary>True when publication <paramref name="publication"/> (a SQL expression) covers the table of
    /// <paramref name="cls"/> (a pg_class alias): listed, in a published schema, FOR ALL TABLES, or a partition of one listed.</summary>
    internal static string Covers(string publication, string cls) => $"""
        EXISTS (SELECT 1 FROM pg_publication p WHERE p.pubname = {publication} AND (p.puballtables
            OR EXISTS (SELECT 1 FROM pg_publication_namespace pn WHERE pn.pnpubid = p.oid AND pn.pnnspid = {cls}.relnamespace)
            OR EXISTS (SELECT 1 FROM pg_publication_rel pr WHERE pr.prpubid = p.oid
                       AND (pr.prrelid = {cls}.oid OR pr.prrelid IN (SELECT relid FROM pg_partition_ancestors({cls}.oid))))))
        """;

    /// <summary>
    /// The innermost (sub)transaction's id: every assigned xid of the session holds an exclusive lock on itself until the
    /// top transaction ends (a rolled-back subtransaction's is released), and the innermost one, which the command
    /// has just written catalogs in, is the youngest. pgoutput names only the top transaction of a streamed message, and a
    /// savepoint rolled back in a streamed transaction must take its schema changes with it.
    /// </summary>
    private const string CurrentXid = """
        (SELECT l.transactionid::text::bigint FROM pg_locks l
         WHERE l.locktype = 'transactionid' AND l.pid = pg_backend_pid() AND l.mode = 'ExclusiveLock' AND l.granted
         ORDER BY age(l.transactionid) LIMIT 1)
        """;

    /// <summary>The message of one table, from a pg_class alias <paramref name="cls"/> and its namespace <paramref name="ns"/>.</summary>
    private static string TableMessage(string cls, string ns, string tag, string identity, string statement) => $"""
        jsonb_build_object('v', 1, 'tag', {tag}, 'identity', {identity}, 'relid', {cls}.oid::bigint, 'xid', {CurrentXid},
            'schema', {ns}.nspname, 'table', {cls}.relname, 'relkind', {cls}.relkind, 'role', session_user,
            'statement', left({statement}, {MaxStatementLength}), 'statement_truncated', length({statement}) > {MaxStatementLength},
            'columns', {ColumnsJson($"{cls}.oid")},
            'primary_key', {PrimaryKeySql.NamesJson($"{cls}.oid")})
            || {PartitionsJson($"{cls}.oid")}
        """;

    // Built on the server with format(), so the publication's name reaches the function body only as a quoted literal.
    // Every literal % of the body is doubled for format().
    private static readonly string FunctionTemplate = $$"""
        SELECT format($template$
        CREATE OR REPLACE FUNCTION hindsight.%I() RETURNS event_trigger
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
        DECLARE
            t record;
            query text := coalesce(current_query(), '');
        BEGIN
            IF current_setting('{{QuietSetting}}', true) = 'on' THEN RETURN; END IF;
            IF TG_EVENT = 'sql_drop' THEN
                FOR t IN
                    SELECT DISTINCT ON (d.objid) d.objid, d.schema_name, d.object_name, d.object_identity
                    FROM pg_event_trigger_dropped_objects() d
                    WHERE d.object_type = 'table' AND NOT d.is_temporary
                      AND d.schema_name NOT IN ('pg_catalog', 'information_schema', '{{StoreMigrations.Schema}}')
                LOOP
                    PERFORM pg_logical_emit_message(true, '{{SchemaMessage.Prefix}}', jsonb_build_object(
                        'v', 1, 'tag', TG_TAG, 'identity', t.object_identity, 'relid', t.objid::bigint,
                        'schema', t.schema_name, 'table', t.object_name, 'role', session_user, 'dropped', true, 'xid', {{CurrentXid}},
                        'statement', left(query, {{MaxStatementLength}}), 'statement_truncated', length(query) > {{MaxStatementLength}})::text);
                END LOOP;
                RETURN;
            END IF;
            FOR t IN
                SELECT DISTINCT ON (d.objid) d.objid, d.command_tag, d.object_identity
                FROM pg_event_trigger_ddl_commands() d
                WHERE d.classid = 'pg_class'::regclass
                ORDER BY d.objid, d.objsubid
            LOOP
                PERFORM pg_logical_emit_message(true, '{{SchemaMessage.Prefix}}',
                    ({{Escape(TableMessage("c", "n", "t.command_tag", "t.object_identity", "query"))}})::text)
                FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE c.oid = t.objid AND c.relkind IN ('r', 'p') AND {{Escape(Covers("%L", "c"))}};
            END LOOP;
        END
        $fn$
        $template$, $1::text, $2::text)
        """;

    // The pieces shared with setup's snapshot are written for plain SQL; inside the template their % become %%,
    // except the placeholder %L that Covers is given here.
    private static string Escape(string sql) => sql.Replace("%", "%%", StringComparison.Ordinal).Replace("%%L", "%L", StringComparison.Ordinal);

    /// <summary>The function's and the <c>ddl_command_end</c> trigger's name for <paramref name="publication"/>
    /// (the <c>sql_drop</c> trigger adds <c>_drop</c>).</summary>
    public static string EventTriggerName(string publication) =>
        PerPublicationName(NamePrefix, publication);

    /// <summary>Installs (or updates) the publication's function and triggers, in setup's source transaction.</summary>
    public static async Task InstallAsync(NpgsqlConnection conn, NpgsqlTransaction tx, string publication, CancellationToken ct)
    {
        var name = EventTriggerName(publication);
        await EventTriggerFunctions.InstallAsync(conn, tx, name, FunctionTemplate, [publication], ct).ConfigureAwait(false);
        await EventTriggerFunctions.EnsureTriggerAsync(conn, tx, name,
            "ddl_command_end WHEN TAG IN ('CREATE TABLE', 'CREATE TABLE AS', 'SELECT INTO', 'ALTER TABLE')", name, ct).ConfigureAwait(false);
        await EventTriggerFunctions.EnsureTriggerAsync(conn, tx, name + "_drop",
            "sql_drop WHEN TAG IN ('DROP TABLE', 'DROP SCHEMA', 'DROP OWNED')", name, ct).ConfigureAwait(false);
    }

    /// <summary>Removes the publication's triggers and function, and the source's schema <c>hindsight</c> when nothing is
    /// left in it. Returns whether there was a trigger.</summary>
    public static Task<bool> RemoveAsync(NpgsqlConnection conn, NpgsqlTransaction? tx, string publication, CancellationToken ct)
    {
        var name = EventTriggerName(publication);
        return EventTriggerFunctions.RemoveAsync(conn, tx, name, [name, name + "_drop"], ct);
    }

    /// <summary>
    /// Emits a <c>SNAPSHOT</c> message with the columns of every table the publication covers, after the slot exists:
    /// the starting point against which later schema changes (a rename in particular) are read. Any role may emit one.
    /// </summary>
    /// <returns>How many tables were described.</returns>
    public static async Task<int> EmitSnapshotAsync(NpgsqlConnection conn, string publication, CancellationToken ct)
    {
        var cmd = new NpgsqlCommand(
            $"""
             SELECT count(pg_logical_emit_message(true, '{SchemaMessage.Prefix}',
                     ({TableMessage("c", "n", "'SNAPSHOT'", "format('%I.%I', n.nspname, c.relname)", "NULL::text")})::text))::int
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE c.relkind IN ('r', 'p') AND c.relpersistence = 'p' AND n.nspname <> '{StoreMigrations.Schema}' AND {Covers("$1", "c")}
             """, conn);
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        cmd.Parameters.AddWithValue(publication);
        return (int)(await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
    }
}
