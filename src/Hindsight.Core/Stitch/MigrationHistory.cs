using System.Text.Json.Nodes;
using Hindsight.Capture;
using Hindsight.Model;

namespace Hindsight.Stitch;

/// <summary>
/// Names the EF Core migration a schema change belongs to. EF Core runs each migration's commands, then inserts its row
/// into <c>__EFMigrationsHistory</c> (column <c>MigrationId</c>), in one transaction: a schema change belongs to the
/// first such insert after it in its transaction. The id goes into the schema change's context as <c>migrationId</c>
/// (a context that already names one keeps it), however the migration was run (<c>dotnet ef</c>, a bundle,
/// <c>Database.Migrate()</c>), as long as the history table is tracked.
/// </summary>
internal static class MigrationHistory
{
    /// <summary>The history table's name, in any schema (EF Core's default; <c>MigrationsHistoryTable()</c> can change it).</summary>
    public const string Table = "__EFMigrationsHistory";

    /// <summary>The migration id a row change inserts into the history table, or null for any other change.</summary>
    public static string? InsertedId(RowEvent row)
    {
        if (row.Operation != Operation.Create || row.Relation.Table != Table || row.New is null) return null;
        for (var i = 0; i < row.Relation.Columns.Count; i++)
            if (row.Relation.Columns[i].Name == "MigrationId") return row.New[i].Text;
        return null;
    }

    /// <summary>The schema change with its migration's id in its context, when one of <paramref name="migrations"/>
    /// (positions and ids, in WAL order) follows it.</summary>
    public static SchemaChangeRecord Attribute(SchemaChangeRecord record, IReadOnlyList<(ulong Position, string Id)> migrations)
    {
        foreach (var (position, id) in migrations)
        {
            if (position < record.Position) continue;
            var context = JsonNode.Parse(record.Context) as JsonObject ?? [];
            if (context.ContainsKey("migrationId")) return record;
            context["migrationId"] = id;
            return record with { Context = System.Text.Encoding.UTF8.GetBytes(context.ToJsonString()) };
        }
        return record;
    }
}
