using System.CommandLine;
using Hindsight.Model;
using Hindsight.Query;

namespace Hindsight.Cli;

/// <summary><c>hindsight history</c>: every version of one row, with what changed, who changed it and when (docs/design.md, "Reading the trail").</summary>
internal static class HistoryCommand
{
    public static Command Create(CliEnvironment env, SharedOptions o)
    {
        var table = QueryOptions.Table("The row's table (table or schema.table)", required: true);
        var key = QueryOptions.Key("The row's primary key (a composite key as a JSON array: [1,\"a\"])", required: true);
        var newestFirst = new Option<bool>("--newest-first") { Description = "Newest version first (default: oldest first)" };
        var cmd = new Command("history", "Every version of one row: each change with its column diff, context and commit time")
        {
            table, key, newestFirst,
        };
        cmd.SetAction((r, ct) => HindsightCli.Guard(r, env, o, async (conn, token) =>
        {
            var format = r.GetValue(o.Format) ?? "table";
            var name = QueryOptions.Input(() => TableName.Parse(r.GetValue(table)!));
            await using var store = QueryOptions.OpenStore(conn);
            var (source, database) = await QueryOptions.ScopeAsync(conn, store, token);
            var history = await new AuditTrail(store).HistoryAsync(name, r.GetValue(key)!, r.GetValue(newestFirst), database, source, token);
            // Said first, so that nobody reads the oldest version shown as the row's beginning.
            var pruned = history.PrunedUpTo is { } horizon && format == "table"
                ? $"history before {PrunedHistoryText(horizon)} was pruned: the first version at that moment is the row as it was then\n"
                : "";
            if (history.Versions.Count == 0 && format == "table")
            {
                await env.Output.WriteLineAsync($"{pruned}no stored changes of {name} key {r.GetValue(key)}");
                return HindsightCli.Ok;
            }
            await env.Output.WriteAsync(pruned);
            var changes = history.Versions.Select(v => v.Change).ToList();
            IReadOnlyList<SchemaChange> schemaChanges = [];
            if (format == "table" && changes.Count > 0)
            {
                // The table's schema changes since the row's first version, among the versions: a rename between two
                // versions explains why a column changed name.
                var first = changes.MinBy(c => c.CommittedAt)!;
                schemaChanges = await new AuditTrail(store).SchemaChangesAsync(new SchemaChangeFilter
                {
                    Tables = [new TableName(first.Schema, first.Table)], Since = first.CommittedAt, Source = first.Source,
                    Limit = SchemaChangeFilter.MaxLimit,
                }, token);
            }
            await env.Output.WriteAsync(format switch
            {
                "json" => ChangeOutput.Json(changes),
                "csv" => ChangeOutput.CsvText(changes),
                _ => ChangeOutput.Table(history.Versions.Select(v => (v.Change, v.Diff)), schemaChanges, newestFirst: r.GetValue(newestFirst)),
            });
            return HindsightCli.Ok;
        }, ct));
        return cmd;
    }

    private static string PrunedHistoryText(DateTimeOffset t) =>
        t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);
}
