using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Hindsight.Postgres;
using Hindsight.Store;
using Npgsql;
using static Hindsight.Setup.SetupSql;

namespace Hindsight.Setup;

/// <summary>
/// The database side of Bemi compatibility: a statement trigger on every tracked table and partition that lifts a
/// <c>/*Bemi {json} Bemi*/</c> comment ending the current query into a <c>_bemi</c> logical message, and an event
/// trigger that installs it on tables that become tracked later. The SQL is in <c>BemiCompat.sql</c>; the rule it
/// applies is documented in docs/bemi.md.
/// </summary>
internal static class BemiCompat
{
    /// <summary>Name of the statement trigger on each table.</summary>
    public const string TriggerName = "hindsight_bemi_context";
    /// <summary>Name of the event trigger.</summary>
    public const string EventTriggerName = "hindsight_bemi_new_tables";

    private const string EventTriggerSql =
        $"CREATE EVENT TRIGGER {EventTriggerName} ON ddl_command_end " +
        "WHEN TAG IN ('CREATE TABLE', 'CREATE TABLE AS', 'SELECT INTO', 'ALTER TABLE') EXECUTE FUNCTION hindsight.bemi_on_ddl()";

    private static readonly string[] EventTags = ["ALTER TABLE", "CREATE TABLE", "CREATE TABLE AS", "SELECT INTO"];

    /// <summary>The SQL that creates the functions.</summary>
    public static readonly string FunctionsSql = LoadSql();

    /// <summary>Version of <see cref="FunctionsSql"/>, kept as the comment of the trigger function so a re-run can tell if it changed.</summary>
    public static readonly string Version = "hindsight bemi-compat " +
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(FunctionsSql)))[..16];

    private static string LoadSql()
    {
        using var stream = typeof(BemiCompat).Assembly.GetManifestResourceStream("Hindsight.Setup.BemiCompat.sql")
            ?? throw new InvalidOperationException("embedded resource BemiCompat.sql is missing");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }

    /// <summary>Checks, before setup changes anything, that the role may install the triggers.</summary>
    public static async Task CheckAsync(NpgsqlConnection conn, IEnumerable<uint> trackedRoots, ServerFacts server, CancellationToken ct)
    {
        {
            var cmd = new NpgsqlCommand(
                """
                SELECT CASE WHEN to_regnamespace($1) IS NULL THEN has_database_privilege(current_database(), 'CREATE')
                            ELSE has_schema_privilege($1, 'CREATE') END
                """, conn);
            await using (cmd.ConfigureAwait(false))
            {
                cmd.Parameters.AddWithValue(StoreMigrations.Schema);
                if (!(bool)(await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false))!)
                    throw new SetupException(
                        $"--bemi-compat: role {server.User} may not create functions in schema {StoreMigrations.Schema} of the source database (it needs CREATE on it, or on the database to create the schema). Nothing was changed.");
            }
        }
        {
            var cmd = new NpgsqlCommand(
                """
                SELECT string_agg(format('%I.%I', n.nspname, c.relname), ', ' ORDER BY 1)
                FROM (SELECT t.relid FROM unnest($1::oid[]) r(oid), pg_partition_tree(r.oid::regclass) t
                      UNION SELECT unnest($1::oid[])) m
                JOIN pg_class c ON c.oid = m.relid JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE c.relkind IN ('r', 'p') AND NOT has_table_privilege(c.oid, 'TRIGGER')
                """, conn);
            await using (cmd.ConfigureAwait(false))
            {
                cmd.Parameters.Add(new NpgsqlParameter { Value = trackedRoots.ToArray(), DataTypeName = "oid[]" });
                if (await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false) is string denied)
                    throw new SetupException(
                        $"--bemi-compat: role {server.User} may not create triggers on {denied} (it needs to own them, or the TRIGGER privilege). Nothing was changed.");
            }
        }
    }

    /// <summary>Installs or updates the functions, the event trigger (superuser only) and the statement triggers.</summary>
    public static async Task<BemiCompatReport> InstallAsync(NpgsqlConnection conn, NpgsqlTransaction tx, IEnumerable<uint> trackedRoots,
        ServerFacts server, List<string> notes, CancellationToken ct)
    {
        var functions = await FunctionsActionAsync(conn, tx, ct).ConfigureAwait(false);
        if (functions != BemiObjectAction.Unchanged)
        {
            await ExecAsync(conn, tx, $"CREATE SCHEMA IF NOT EXISTS {PgNames.Quote(StoreMigrations.Schema)}", ct).ConfigureAwait(false);
            await ExecAsync(conn, tx, FunctionsSql, ct).ConfigureAwait(false);
            await ExecAsync(conn, tx, $"COMMENT ON FUNCTION hindsight.bemi_context_trigger() IS '{Version}'", ct).ConfigureAwait(false);
        }

        BemiObjectAction eventTrigger;
        if (!server.IsSuperuser)
        {
            eventTrigger = BemiObjectAction.SkippedNotSuperuser;
            notes.Add($"--bemi-compat: role {server.User} is not a superuser, so no event trigger was created (PostgreSQL allows them only to superusers). " +
                      "Tables tracked later get the Bemi context trigger only when setup --bemi-compat runs again; " +
                      "with --tables that is needed anyway, because tables created later are not tracked.");
        }
        else eventTrigger = await EnsureEventTriggerAsync(conn, tx, ct).ConfigureAwait(false);

        var installed = new List<string>();
        foreach (var root in trackedRoots)
        {
            var cmd = new NpgsqlCommand("SELECT hindsight.bemi_attach($1)", conn, tx);
            await using var cmdDisposal = cmd.ConfigureAwait(false);
            cmd.Parameters.Add(new NpgsqlParameter { Value = root, DataTypeName = "oid" });
            var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
            await using var rDisposal = r.ConfigureAwait(false);
            while (await r.ReadAsync(ct).ConfigureAwait(false)) installed.Add(r.GetString(0));
        }

        return new BemiCompatReport
        {
            Functions = functions,
            EventTrigger = eventTrigger,
            TriggersInstalled = installed,
            TriggersInPlace = await TriggeredTablesAsync(conn, tx, ct).ConfigureAwait(false),
        };
    }

    private static async Task<BemiObjectAction> FunctionsActionAsync(NpgsqlConnection conn, NpgsqlTransaction tx, CancellationToken ct)
    {
        var cmd = new NpgsqlCommand(
            "SELECT obj_description(p, 'pg_proc') FROM to_regprocedure('hindsight.bemi_context_trigger()') p WHERE p IS NOT NULL", conn, tx);
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        await using var rDisposal = r.ConfigureAwait(false);
        if (!await r.ReadAsync(ct).ConfigureAwait(false)) return BemiObjectAction.Created;
        return !r.IsDBNull(0) && r.GetString(0) == Version ? BemiObjectAction.Unchanged : BemiObjectAction.Updated;
    }

    private static async Task<BemiObjectAction> EnsureEventTriggerAsync(NpgsqlConnection conn, NpgsqlTransaction tx, CancellationToken ct)
    {
        var cmd = new NpgsqlCommand(
            """
            SELECT evtevent = 'ddl_command_end' AND evtenabled <> 'D' AND evtfoid = 'hindsight.bemi_on_ddl()'::regprocedure
                   AND evttags::text[] @> $2 AND evttags::text[] <@ $2
            FROM pg_event_trigger WHERE evtname = $1
            """, conn, tx);
        await using (cmd.ConfigureAwait(false))
        {
            cmd.Parameters.AddWithValue(EventTriggerName);
            cmd.Parameters.AddWithValue(EventTags);
            var current = await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false);
            if (current is true) return BemiObjectAction.Unchanged;
            if (current is false)
            {
                await ExecAsync(conn, tx, $"DROP EVENT TRIGGER {EventTriggerName}", ct).ConfigureAwait(false);
                await ExecAsync(conn, tx, EventTriggerSql, ct).ConfigureAwait(false);
                return BemiObjectAction.Updated;
            }
        }
        await ExecAsync(conn, tx, EventTriggerSql, ct).ConfigureAwait(false);
        return BemiObjectAction.Created;
    }

    /// <summary>Tables and partitions that have the statement trigger, as <c>schema.name</c>.</summary>
    public static async Task<IReadOnlyList<string>> TriggeredTablesAsync(NpgsqlConnection conn, NpgsqlTransaction? tx, CancellationToken ct)
    {
        var cmd = new NpgsqlCommand(
            """
            SELECT format('%I.%I', n.nspname, c.relname) FROM pg_trigger t
            JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE t.tgname = $1 ORDER BY 1
            """, conn, tx);
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        cmd.Parameters.AddWithValue(TriggerName);
        var list = new List<string>();
        var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        await using var rDisposal = r.ConfigureAwait(false);
        while (await r.ReadAsync(ct).ConfigureAwait(false)) list.Add(r.GetString(0));
        return list;
    }

    /// <summary>
    /// Removes everything <see cref="InstallAsync"/> made; returns the tables whose trigger was dropped and whether
    /// anything was there. Drops schema <c>hindsight</c> of the source too when nothing else is left in it.
    /// </summary>
    public static async Task<(IReadOnlyList<string> Tables, bool Found)> RemoveAsync(NpgsqlConnection conn, CancellationToken ct)
    {
        var tx = await conn.BeginTransactionAsync(ct).ConfigureAwait(false);
        await using var txDisposal = tx.ConfigureAwait(false);
        var tables = await TriggeredTablesAsync(conn, tx, ct).ConfigureAwait(false);
        bool found;
        var cmd = new NpgsqlCommand(
            "SELECT to_regprocedure('hindsight.bemi_context_trigger()') IS NOT NULL OR EXISTS (SELECT 1 FROM pg_event_trigger WHERE evtname = $1)", conn, tx);
        await using (cmd.ConfigureAwait(false))
        {
            cmd.Parameters.AddWithValue(EventTriggerName);
            found = (bool)(await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false))! || tables.Count > 0;
        }
        if (!found) return ([], false);

        await ExecAsync(conn, tx, $"DROP EVENT TRIGGER IF EXISTS {EventTriggerName}", ct).ConfigureAwait(false);
        foreach (var t in tables)
            await ExecAsync(conn, tx, string.Create(CultureInfo.InvariantCulture, $"DROP TRIGGER IF EXISTS {TriggerName} ON {t}"), ct).ConfigureAwait(false);
        await ExecAsync(conn, tx,
            "DROP FUNCTION IF EXISTS hindsight.bemi_on_ddl(), hindsight.bemi_attach(oid), hindsight.bemi_context_trigger(), hindsight.bemi_context_of(text), hindsight.bemi_skip_quoted(bytea, int, int, boolean)", ct).ConfigureAwait(false);
        // With the store in another database, the source's schema hindsight held only these functions; with the store
        // here, the schema stays, without the USAGE every writer needed to run the trigger.
        await ExecAsync(conn, tx,
            "DO $$ BEGIN IF to_regnamespace('hindsight') IS NOT NULL THEN REVOKE USAGE ON SCHEMA hindsight FROM PUBLIC; END IF; END $$",
            ct).ConfigureAwait(false);
        await DropSourceSchemaIfEmptyAsync(conn, tx, ct).ConfigureAwait(false);
        await tx.CommitAsync(ct).ConfigureAwait(false);
        return (tables, true);
    }
}
