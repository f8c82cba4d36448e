using System.Globalization;
using Hindsight.Model;
using Hindsight.Query;
using Npgsql;

namespace Hindsight.Revert;

/// <summary>
/// Refuses a revert across a schema change it cannot honour, before anything is written: a table renamed or dropped
/// since, a column of the stored images renamed or dropped since (PostgreSQL would silently leave that value out), or a
/// value that no longer casts to its column's new type. The message names the schema changes the trail holds.
/// </summary>
/// <remarks>
/// A column added since does not stop a revert: the statements write only the columns the images hold.
/// </remarks>
internal static class RevertSchemaGuard
{
    /// <summary>Checks every table of <paramref name="changes"/> against the source's catalog today.</summary>
    /// <exception cref="AuditQueryException">A schema change since makes a change impossible to revert faithfully.</exception>
    public static async Task CheckAsync(NpgsqlDataSource store, NpgsqlConnection source, string sourceName, IReadOnlyList<Change> changes,
        CancellationToken ct)
    {
        foreach (var group in changes.Where(c => c.PrimaryKey is not null && c.Operation is Operation.Create or Operation.Update or Operation.Delete)
                     .GroupBy(c => new TableName(c.Schema, c.Table)))
        {
            var table = group.Key;
            var now = await ColumnsAsync(source, table, ct).ConfigureAwait(false);
            // The columns the revert writes: an UPDATE's changed columns, a DELETE's whole row (an INSERT is undone by key).
            var held = group.SelectMany(c => c.Operation switch
            {
                Operation.Update => c.Diff().Select(d => d.Column),
                Operation.Delete => c.Before.Select(kv => kv.Key),
                _ => [],
            }).ToHashSet(StringComparer.Ordinal);
            var gone = now is null ? [] : held.Where(c => !now.Contains(c)).Order(StringComparer.Ordinal).ToList();
            var since = await SinceAsync(store, sourceName, table, group, ct).ConfigureAwait(false);
            if (now is not null && gone.Count == 0 && !since.Any(s => s.Effects.Any(SchemaEffects.BreaksOldValues))) continue;
            if (now is null || gone.Count > 0)
            {
                var what = now is null ? $"{table} no longer exists" : $"{table} no longer has column(s) {string.Join(", ", gone.Select(Postgres.PgNames.DisplayPart))}";
                throw new AuditQueryException(
                    $"cannot revert changes of {table}: {what}, so their stored values have nowhere to go. {Explain(since)} " +
                    "A revert writes a value only where the table can still hold it: revert changes made after that schema change, or restore by hand.");
            }
            // Retyped since: every value the revert would write must still cast to its column's type.
            foreach (var c in group)
            {
                foreach (var image in new[] { c.Before, c.After })
                {
                    if (image.Count == 0) continue;
                    var cmd = new NpgsqlCommand($"SELECT jsonb_populate_record(NULL::{Postgres.PgNames.Quote(table.Schema!, table.Name)}, $1::jsonb)", source);
                    await using var cmdDisposal = cmd.ConfigureAwait(false);
                    cmd.Parameters.AddWithValue(image.ToJsonString());
                    try
                    {
                        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                    }
                    catch (PostgresException e) when (e.SqlState.StartsWith("22", StringComparison.Ordinal))
                    {
                        throw new AuditQueryException(
                            $"cannot revert change {c.Id} of {table}: its stored values no longer fit the table's column types ({e.MessageText}). " +
                            $"{Explain(since)} Revert changes made after that schema change, or restore by hand.");
                    }
                }
            }
        }
    }

    /// <summary>
    /// Refuses a rollback of <paramref name="table"/> to <paramref name="at"/> across a schema change since that renamed,
    /// moved or dropped it, or renamed, dropped or retyped a column: the rows as they were then do not fit it now.
    /// </summary>
    /// <exception cref="AuditQueryException">Such a schema change is in the trail.</exception>
    public static async Task CheckRollbackAsync(NpgsqlDataSource store, string sourceName, TableName table, DateTimeOffset at, string when,
        CancellationToken ct)
    {
        var since = (await new AuditTrail(store).SchemaChangesAsync(new SchemaChangeFilter
        {
            Tables = [table], Source = sourceName, Since = at, Limit = 20,
        }, ct).ConfigureAwait(false)).Reverse().ToList();
        var breaking = since.Where(s => s.Effects.Any(SchemaEffects.BreaksOldValues)).ToList();
        if (breaking.Count == 0) return;
        throw new AuditQueryException(
            $"cannot roll {table} to {when}: its rows then do not fit the table now. {Explain(breaking)} " +
            "Roll to a moment after that schema change, or restore by hand.");
    }

    /// <summary>The table's column names today (generated ones included), or null when it is gone.</summary>
    private static async Task<HashSet<string>?> ColumnsAsync(NpgsqlConnection source, TableName table, CancellationToken ct)
    {
        var cmd = new NpgsqlCommand(
            """
            SELECT a.attname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
            WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')
            """, source);
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        cmd.Parameters.AddWithValue(table.Schema!);
        cmd.Parameters.AddWithValue(table.Name);
        var columns = new HashSet<string>(StringComparer.Ordinal);
        var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        await using var rDisposal = r.ConfigureAwait(false);
        while (await r.ReadAsync(ct).ConfigureAwait(false)) columns.Add(r.GetString(0));
        return columns.Count == 0 ? null : columns;
    }

    /// <summary>The table's schema changes since the oldest of the changes (by any name it had), oldest first.</summary>
    private static async Task<IReadOnlyList<SchemaChange>> SinceAsync(NpgsqlDataSource store, string sourceName, TableName table,
        IEnumerable<Change> group, CancellationToken ct)
    {
        var list = await new AuditTrail(store).SchemaChangesAsync(new SchemaChangeFilter
        {
            Tables = [table], Source = sourceName, Since = group.Min(c => c.CommittedAt), Limit = 20,
        }, ct).ConfigureAwait(false);
        return list.Reverse().ToList();
    }

    private static string Explain(IReadOnlyList<SchemaChange> since)
    {
        if (since.Count == 0) return "The trail holds no record of the schema change (it is recorded when setup runs as a superuser).";
        return "Since then: " + string.Join("; ", since.Select(s =>
            $"{string.Join(", ", s.Effects)} ({s.CommandTag} at {s.CommittedAt.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture)}" +
            (s.MadeBy is { } by ? ", by " + by : "") + ")")) + ".";
    }
}
