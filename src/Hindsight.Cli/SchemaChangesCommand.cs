using System.CommandLine;
using Hindsight.Model;
using Hindsight.Postgres;
using Hindsight.Query;

namespace Hindsight.Cli;

/// <summary><c>hindsight schema-changes</c>: what migrations did to tracked tables, with statement, context and role.</summary>
internal static class SchemaChangesCommand
{
    public static Command Create(CliEnvironment env, SharedOptions o)
    {
        var tables = QueryOptions.Tables("Only these tables, by any name they had (table = any schema, schema.table; comma-separated or repeated)");
        var since = QueryOptions.Time("--since", "Only schema changes committed at or after this time");
        var until = QueryOptions.Time("--until", "Only schema changes committed before this time");
        var limit = new Option<int>("--limit") { Description = $"At most this many, newest first (1 to {SchemaChangeFilter.MaxLimit})", DefaultValueFactory = _ => 100, HelpName = "n" };
        limit.Validators.Add(result =>
        {
            if (HindsightCli.Parsed(result, out int v) && v is < 1 or > SchemaChangeFilter.MaxLimit) result.AddError($"--limit must be between 1 and {SchemaChangeFilter.MaxLimit} (got {v})");
        });
        var snapshots = new Option<bool>("--snapshots") { Description = "Also list the columns each table had when tracking began" };
        var cmd = new Command("schema-changes", "List schema changes of tracked tables (CREATE, ALTER, DROP TABLE), newest first: what each did, its statement and who ran it")
        {
            tables, since, until, limit, snapshots,
        };
        cmd.SetAction((r, ct) => HindsightCli.Guard(r, env, o, async (conn, token) =>
        {
            var format = r.GetValue(o.Format) ?? "table";
            var filter = QueryOptions.Input(() => new SchemaChangeFilter
            {
                Tables = NameList.Split(r.GetValue(tables)).Select(TableName.Parse).ToList(),
                Since = IsoTime.Parse(r.GetValue(since), "--since"),
                Until = IsoTime.Parse(r.GetValue(until), "--until"),
                Limit = r.GetValue(limit),
                IncludeSnapshots = r.GetValue(snapshots),
            });
            await using var store = QueryOptions.OpenStore(conn);
            var (source, database) = await QueryOptions.ScopeAsync(conn, store, token);
            var list = await new AuditTrail(store).SchemaChangesAsync(filter with { Source = source, Database = database }, token);
            if (list.Count == 0 && format == "table")
            {
                await env.Output.WriteLineAsync("no schema changes stored" + (filter.Tables.Count > 0 ? " of " + string.Join(", ", filter.Tables) : "") +
                    " (they are recorded when setup ran as a superuser)");
                return HindsightCli.Ok;
            }
            await env.Output.WriteAsync(format switch
            {
                "json" => SchemaChangeOutput.Json(list),
                "csv" => SchemaChangeOutput.CsvText(list),
                _ => SchemaChangeOutput.Table(list),
            });
            return HindsightCli.Ok;
        }, ct));
        return cmd;
    }
}
