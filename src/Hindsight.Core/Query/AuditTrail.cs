using Hindsight.Model;
using Npgsql;

namespace Hindsight.Query;

/// <summary>
/// The query side of the pipeline (docs/design.md, "Reading the trail"): filtered changes with keyset pagination, the history of one row, and a
/// table or row as it was at a moment. Reads <c>hindsight.changes</c> through the given data source; never writes.
/// </summary>
/// <remarks>
/// Everything a caller passes reaches PostgreSQL as a parameter: table names, keys and JSON are compared as values,
/// never spliced into SQL. Thread-safe: each call takes its own connection from the data source.
/// </remarks>
/// <param name="store">The store database (the one holding schema <c>hindsight</c>).</param>
public sealed partial class AuditTrail(NpgsqlDataSource store)
{
    private readonly NpgsqlDataSource _store = store ?? throw new ArgumentNullException(nameof(store));

    private static (string Source, string Schema)? RequireOnePlace(TableName table, IEnumerable<(string Source, string Schema)> places)
    {
        var distinct = places.Distinct().ToList();
        if (distinct.Count > 1)
            throw new AuditQueryException(
                $"table {table} is ambiguous: the store holds {string.Join(", ", distinct.Select(d => $"source {d.Source}: {new TableName(d.Schema, table.Name)}"))}; " +
                (distinct.Select(d => d.Source).Distinct().Count() > 1 ? "name its source" : "name its schema (schema.table)"));
        return distinct.Count == 0 ? null : distinct[0];
    }

    private async Task<List<Change>> ReadChangesAsync(string sql, ChangeSql.Parameters p, CancellationToken ct)
    {
        var cmd = _store.CreateCommand(sql);
        await using var cmdDisposal = cmd.ConfigureAwait(false);
        p.ApplyTo(cmd);
        return await ChangeSql.ReadAllAsync(cmd, ct).ConfigureAwait(false);
    }
}
