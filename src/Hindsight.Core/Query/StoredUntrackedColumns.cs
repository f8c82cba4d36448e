using Hindsight.Model;
using Hindsight.Store;
using Npgsql;

namespace Hindsight.Query;

/// <summary>Reads the untracked columns the store recorded for a table the user names (as-of marks them).</summary>
internal static class StoredUntrackedColumns
{
    /// <summary>
    /// The stored untracked columns of one table (<see cref="ChangeSql.Scope"/> matches it: a bare name in any schema),
    /// of any source unless <paramref name="scope"/> names one. Empty on a store without the table.
    /// </summary>
    public static async Task<List<(string Source, string Schema, string Column, UntrackedReason Reason)>> ReadAsync(
        NpgsqlConnection store, TableName table, SourceScope? scope, CancellationToken ct)
    {
        var list = new List<(string, string, string, UntrackedReason)>();
        if (!await UntrackedColumnStore.ExistsAsync(store, null, ct).ConfigureAwait(false)) return list;
        var p = new ChangeSql.Parameters();
        var sql = $"""
            SELECT u.source, u.schema, u."column", u.reason FROM hindsight.untracked_columns u
            WHERE {ChangeSql.Scope(table, scope is null ? null : scope with { Database = null }, p, "u")}
            ORDER BY u.source, u.schema, u."column"
            """;
        var cmd = new NpgsqlCommand(sql, store);
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        p.ApplyTo(cmd);
        var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        await using var rDisposal = r.ConfigureAwait(false);
        while (await r.ReadAsync(ct).ConfigureAwait(false))
            if (UntrackedReasons.Parse(r.GetString(3)) is { } reason)
                list.Add((r.GetString(0), r.GetString(1), r.GetString(2), reason));
        return list;
    }
}
