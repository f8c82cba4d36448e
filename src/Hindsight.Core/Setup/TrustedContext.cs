using Hindsight.Postgres;
using Npgsql;
using static Hindsight.Setup.SetupSql;

namespace Hindsight.Setup;

/// <summary>
/// <c>setup --trusted-context-roles</c>: who may write Hindsight context. Context travels as a logical decoding message,
/// and by default every database user may call <c>pg_logical_emit_message</c> — so anyone with SQL access could pin a
/// change on someone else. Restricting EXECUTE on it (in this database; functions are per database) to the listed roles
/// closes that. docs/security.md has the threat model.
/// </summary>
/// <remarks>
/// PostgreSQL has no per-prefix privilege on messages, so the restriction covers every message of the database, of any
/// prefix. Superusers can always emit. Roles that must keep emitting: the applications that send context, whoever
/// runs <c>revert</c> (a revert records what it reverts as context), and the capture worker (its heartbeat is a message;
/// <c>hindsight_capture</c> is granted automatically when it exists).
/// </remarks>
internal static class TrustedContext
{
    /// <summary>The value of <c>--trusted-context-roles</c> that gives the right back to every user.</summary>
    public const string Public = "public";

    /// <summary>The signatures of every overload of <c>pg_logical_emit_message</c> in this database (PostgreSQL 17 adds one).</summary>
    private static async Task<List<string>> OverloadsAsync(NpgsqlConnection conn, NpgsqlTransaction? tx, CancellationToken ct)
    {
        var cmd = new NpgsqlCommand(
            "SELECT p.oid::regprocedure::text FROM pg_proc p WHERE p.proname = 'pg_logical_emit_message' AND p.pronamespace = 'pg_catalog'::regnamespace ORDER BY 1",
            conn, tx);
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        var list = new List<string>();
        var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        await using var rDisposal = r.ConfigureAwait(false);
        while (await r.ReadAsync(ct).ConfigureAwait(false)) list.Add(r.GetString(0));
        return list;
    }

    /// <summary>
    /// Who may emit messages now: null when every user may (EXECUTE granted to PUBLIC), else the roles granted EXECUTE
    /// on the text overload (superusers always can).
    /// </summary>
    public static async Task<IReadOnlyList<string>?> EmittersAsync(NpgsqlConnection conn, NpgsqlTransaction? tx, CancellationToken ct)
    {
        var cmd = new NpgsqlCommand(
            """
            SELECT coalesce(a.grantee = 0, false), r.rolname::text
            FROM pg_proc p
            LEFT JOIN LATERAL aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a ON a.privilege_type = 'EXECUTE'
            LEFT JOIN pg_roles r ON r.oid = a.grantee
            WHERE p.oid = 'pg_catalog.pg_logical_emit_message(boolean,text,text)'::regprocedure
            ORDER BY 2
            """, conn, tx);
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        var roles = new List<string>();
        var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        await using var rDisposal = r.ConfigureAwait(false);
        while (await r.ReadAsync(ct).ConfigureAwait(false))
        {
            if (r.GetBoolean(0)) return null;
            if (!r.IsDBNull(1)) roles.Add(r.GetString(1));
        }
        return roles;
    }

    /// <summary>Checks the option before anything changes: the roles exist, and the user may change the privilege.</summary>
    /// <exception cref="SetupException">A role does not exist, <c>public</c> is mixed with roles, or the user is not a superuser.</exception>
    public static async Task CheckAsync(NpgsqlConnection conn, IReadOnlyList<string> roles, ServerFacts server, CancellationToken ct)
    {
        if (roles.Count == 0) return;
        if (roles.Any(IsPublic) && roles.Count > 1)
            throw new SetupException("--trusted-context-roles: 'public' (every user may emit context again) cannot be combined with role names");
        if (!server.IsSuperuser)
            throw new SetupException(
                $"role {server.User} is not a superuser: only a superuser may change who can execute pg_logical_emit_message (--trusted-context-roles). Nothing was changed.");
        if (roles.Any(IsPublic)) return;
        var cmd = new NpgsqlCommand("SELECT r FROM unnest($1::text[]) AS r WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r)", conn);
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        cmd.Parameters.AddWithValue(roles.ToArray());
        var missing = new List<string>();
        var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        await using var rDisposal = r.ConfigureAwait(false);
        while (await r.ReadAsync(ct).ConfigureAwait(false)) missing.Add(r.GetString(0));
        if (missing.Count > 0)
            throw new SetupException(
                $"--trusted-context-roles: no role named {string.Join(", ", missing.Select(PgNames.DisplayPart))} exists (role names are exact: \"AppRole\" needs its case). Nothing was changed.");
    }

    /// <summary>
    /// Makes exactly <paramref name="roles"/> (plus <c>hindsight_capture</c> when it exists) able to emit messages, in
    /// <paramref name="tx"/>; <c>public</c> gives the right back to every user. Returns who may emit afterwards (null: everyone).
    /// </summary>
    public static async Task<IReadOnlyList<string>?> ApplyAsync(NpgsqlConnection conn, NpgsqlTransaction tx, IReadOnlyList<string> roles, CancellationToken ct)
    {
        var overloads = await OverloadsAsync(conn, tx, ct).ConfigureAwait(false);
        if (roles.Any(IsPublic))
        {
            foreach (var f in overloads) await ExecAsync(conn, tx, $"GRANT EXECUTE ON FUNCTION {f} TO PUBLIC", ct).ConfigureAwait(false);
            return await EmittersAsync(conn, tx, ct).ConfigureAwait(false);
        }
        var wanted = new HashSet<string>(roles, StringComparer.Ordinal);
        var capture = new NpgsqlCommand($"SELECT 1 FROM pg_roles WHERE rolname = '{StoreRoles.Capture}'", conn, tx);
        await using (capture.ConfigureAwait(false))
            if (await capture.ExecuteScalarAsync(ct).ConfigureAwait(false) is not null) wanted.Add(StoreRoles.Capture);
        // A set, not an addition: roles trusted by an earlier run but not listed now lose the right.
        var current = await EmittersAsync(conn, tx, ct).ConfigureAwait(false) ?? [];
        foreach (var f in overloads)
        {
            await ExecAsync(conn, tx, $"REVOKE EXECUTE ON FUNCTION {f} FROM PUBLIC", ct).ConfigureAwait(false);
            foreach (var gone in current.Where(c => !wanted.Contains(c)))
                await ExecAsync(conn, tx, $"REVOKE EXECUTE ON FUNCTION {f} FROM {PgNames.Quote(gone)}", ct).ConfigureAwait(false);
            foreach (var role in wanted)
                await ExecAsync(conn, tx, $"GRANT EXECUTE ON FUNCTION {f} TO {PgNames.Quote(role)}", ct).ConfigureAwait(false);
        }
        return await EmittersAsync(conn, tx, ct).ConfigureAwait(false);
    }

    /// <summary>Teardown: every user may emit messages again (PostgreSQL's default). Returns whether anything changed.</summary>
    public static async Task<bool> RestoreAsync(NpgsqlConnection conn, CancellationToken ct)
    {
        if (await EmittersAsync(conn, null, ct).ConfigureAwait(false) is null) return false;
        foreach (var f in await OverloadsAsync(conn, null, ct).ConfigureAwait(false)) await ExecAsync(conn, null, $"GRANT EXECUTE ON FUNCTION {f} TO PUBLIC", ct).ConfigureAwait(false);
        return true;
    }

    private static bool IsPublic(string role) => string.Equals(role, Public, StringComparison.OrdinalIgnoreCase);
}
