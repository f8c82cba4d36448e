using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Hindsight.Model;
using Hindsight.Postgres;
using Hindsight.Query;

namespace Hindsight.Cli;

/// <summary><c>hindsight trends</c>: counts of changes per time bucket and table, operation, source or context key.</summary>
internal static class TrendsCommand
{
    public static Command Create(CliEnvironment env, SharedOptions o)
    {
        var bucket = new Option<string>("--bucket") { Description = "Bucket width: minute, hour, day or week (UTC)", DefaultValueFactory = _ => "hour", HelpName = "width" };
        var by = new Option<string>("--by") { Description = "Group by table, operation, source or context:KEY (a top-level context key, e.g. context:userId)", DefaultValueFactory = _ => "table", HelpName = "group" };
        var tables = QueryOptions.Tables("Only these tables (comma-separated or repeated)");
        var operations = new Option<string[]>("--operation")
        {
            Description = "Only these operations (comma-separated or repeated)", HelpName = "op", Arity = ArgumentArity.OneOrMore, AllowMultipleArgumentsPerToken = false,
        };
        var since = QueryOptions.Time("--since", "Only changes committed at or after this time");
        var until = QueryOptions.Time("--until", "Only changes committed before this time");
        var context = new Option<string>("--context") { Description = "Only changes whose context contains this JSON object", HelpName = "json" };
        var cmd = new Command("trends", "Count changes per time bucket, by table, operation, source or a context key")
        {
            bucket, by, tables, operations, since, until, context,
        };
        cmd.SetAction((r, ct) => HindsightCli.Guard(r, env, o, async (conn, token) =>
        {
            var format = r.GetValue(o.Format) ?? "table";
            // Parsed before connecting: a typo is a usage error, not a database error.
            var width = QueryOptions.Input(() => TrendBucketParser.Parse(r.GetValue(bucket)!));
            var grouping = QueryOptions.Input(() => TrendGrouping.Parse(r.GetValue(by)!));
            var filter = QueryOptions.Input(() => new ChangeFilter
            {
                Tables = NameList.Split(r.GetValue(tables)).Select(TableName.Parse).ToList(),
                Operations = NameList.Split(r.GetValue(operations)).Select(OperationParser.Parse).ToList(),
                Since = IsoTime.Parse(r.GetValue(since), "--since"),
                Until = IsoTime.Parse(r.GetValue(until), "--until"),
                Context = r.GetValue(context),
            });
            await using var store = QueryOptions.OpenStore(conn);
            var (scopeSource, scopeDatabase) = await QueryOptions.ScopeAsync(conn, store, token);
            filter = filter with { Source = scopeSource, Database = scopeDatabase };
            var points = await new ChangeTrends(store).CountAsync(filter, width, grouping, token);
            await env.Output.WriteAsync(format switch
            {
                "json" => Json(points),
                "csv" => CsvText(points),
                _ => Table(points, grouping),
            });
            return HindsightCli.Ok;
        }, ct));
        return cmd;
    }

    private static string Time(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static string Json(IReadOnlyList<TrendPoint> points) =>
        JsonSerializer.Serialize(points.Select(p => new { bucket = Time(p.Bucket), group = p.Group, count = p.Count }),
            new JsonSerializerOptions { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }) + "\n";

    private static string CsvText(IReadOnlyList<TrendPoint> points)
    {
        var sb = new StringBuilder(Csv.Line(["bucket", "group", "count"]));
        foreach (var p in points) sb.Append(Csv.Line([Time(p.Bucket), p.Group, p.Count.ToString(CultureInfo.InvariantCulture)]));
        return sb.ToString();
    }

    private static string Table(IReadOnlyList<TrendPoint> points, TrendGrouping grouping)
    {
        var name = grouping.Kind switch { TrendGroupKind.Table => "table", TrendGroupKind.Operation => "operation", TrendGroupKind.Source => "source", _ => grouping.ContextKey! };
        var rows = points.Select(p => new[]
        {
            p.Bucket.UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture),
            TextTable.Cell(p.Group ?? "-", 40),
            p.Count.ToString("N0", CultureInfo.InvariantCulture),
        }).ToList();
        return TextTable.Aligned(["bucket (UTC)", TextTable.Cell(name, 40), "changes"], rows);
    }
}
