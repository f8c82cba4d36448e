using Hindsight.Store;
using Npgsql;
using static Hindsight.Setup.SetupSql;

namespace Hindsight.Setup;

/// <summary>
/// The life of an event trigger function setup installs in the source's schema <c>hindsight</c> (the new-table replica
/// identity, the schema change capture): the function built on the server from a template, its event triggers, and
/// their removal with it.
/// </summary>
internal static class EventTriggerFunctions
{
    /// <summary>
    /// Creates (or replaces) function <c>hindsight.<paramref name="name"/>()</c> from <paramref name="template"/>, a query
    /// that returns the function's DDL from <c>format()</c> with the name as <c>$1</c> and <paramref name="arguments"/>
    /// after it (so values reach the body only as quoted literals); nobody but its owner may call it.
    /// </summary>
    public static async Task InstallAsync(NpgsqlConnection conn, NpgsqlTransaction tx, string name, string template, object[] arguments,
        CancellationToken ct)
    {
        await ExecAsync(conn, tx, $"CREATE SCHEMA IF NOT EXISTS {Postgres.PgNames.Quote(StoreMigrations.Schema)}", ct).ConfigureAwait(false);
        string create;
        var build = new NpgsqlCommand(template, conn, tx);
        await using (build.ConfigureAwait(false))
        {
            build.Parameters.AddWithValue(name);
            foreach (var argument in arguments) build.Parameters.AddWithValue(argument);
            create = (string)(await build.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
        }
        await ExecAsync(conn, tx, create, ct).ConfigureAwait(false);
        await ExecAsync(conn, tx, $"REVOKE ALL ON FUNCTION hindsight.{name}() FROM PUBLIC", ct).ConfigureAwait(false);
    }

    /// <summary>Creates event trigger <paramref name="trigger"/> on <paramref name="eventAndTags"/> (<c>ddl_command_end
    /// WHEN TAG IN (…)</c>) calling <c>hindsight.<paramref name="function"/>()</c>, unless it exists.</summary>
    public static async Task EnsureTriggerAsync(NpgsqlConnection conn, NpgsqlTransaction tx, string trigger, string eventAndTags, string function,
        CancellationToken ct)
    {
        if (!await EventTriggerExistsAsync(conn, tx, trigger, ct).ConfigureAwait(false))
            await ExecAsync(conn, tx, $"CREATE EVENT TRIGGER {trigger} ON {eventAndTags} EXECUTE FUNCTION hindsight.{function}()", ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Drops those of <paramref name="triggers"/> that exist and, if any did, function <c>hindsight.<paramref name="function"/>()</c>
    /// and the source's schema <c>hindsight</c> when nothing is left in it. Returns whether there was a trigger.
    /// </summary>
    public static async Task<bool> RemoveAsync(NpgsqlConnection conn, NpgsqlTransaction? tx, string function, IEnumerable<string> triggers,
        CancellationToken ct)
    {
        var existed = false;
        foreach (var trigger in triggers)
        {
            if (!await EventTriggerExistsAsync(conn, tx, trigger, ct).ConfigureAwait(false)) continue;
            await ExecAsync(conn, tx, $"DROP EVENT TRIGGER {trigger}", ct).ConfigureAwait(false);
            existed = true;
        }
        if (!existed) return false;
        await ExecAsync(conn, tx, $"DROP FUNCTION IF EXISTS hindsight.{function}()", ct).ConfigureAwait(false);
        await DropSourceSchemaIfEmptyAsync(conn, tx, ct).ConfigureAwait(false);
        return true;
    }
}
