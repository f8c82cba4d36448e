using System.CommandLine;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Hindsight.Query;

namespace Hindsight.Cli;

/// <summary><c>hindsight as-of</c>: a table, or one row of it, as it was at a moment (design §4).</summary>
internal static class AsOfCommand
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static Command Create(CliEnvironment env, SharedOptions o)
    {
        var table = QueryOptions.Table("The table (table or schema.table)", required: true);
        var at = QueryOptions.Time("--at", "The moment: changes committed at or before it count", required: true);
        var key = QueryOptions.Key("Only the row with this primary key (a composite key as a JSON array: [1,\"a\"])", required: false);
        var cmd = new Command("as-of", "A table, or one row, as it was at a moment (complete only for rows changed since tracking began)")
        {
            table, at, key,
        };
        cmd.SetAction((r, ct) => HindsightCli.Guard(r, env, o, async (conn, token) =>
        {
            var format = r.GetValue(o.Format) ?? "table";
            var name = QueryOptions.Input(() => TableName.Parse(r.GetValue(table)!));
            var moment = QueryOptions.ParseTime(r.GetValue(at), "--at")!.Value;
            await using var store = QueryOptions.OpenStore(conn);
            var result = await new AuditTrail(store).AsOfAsync(name, moment, r.GetValue(key), QueryOptions.Database(conn), token);
            var columns = result.Rows.SelectMany(row => row.Row.Select(kv => kv.Key)).Distinct().ToArray();
            switch (format)
            {
                case "json":
                    await env.Output.WriteLineAsync(new JsonArray(result.Rows.Select(row => (JsonNode)row.Row.DeepClone()).ToArray()).ToJsonString(Indented));
                    await env.Error.WriteLineAsync($"hindsight: {result.Rows.Count} rows; {result.CompletenessNote}");
                    break;
                case "csv":
                    var sb = new StringBuilder(Csv.Line(columns));
                    foreach (var row in result.Rows)
                        sb.Append(Csv.Line(columns.Select(c => row.Row.TryGetPropertyValue(c, out var v) ? v is null ? null : ChangeOutput.Show(v) : null)));
                    await env.Output.WriteAsync(sb.ToString());
                    await env.Error.WriteLineAsync($"hindsight: {result.Rows.Count} rows; {result.CompletenessNote}");
                    break;
                default:
                    var cells = result.Rows.Select(row => columns.Select(c =>
                        TextTable.Cell(row.Row.TryGetPropertyValue(c, out var v) ? ChangeOutput.Show(v) : "", 32)).ToArray()).ToList();
                    if (columns.Length > 0) await env.Output.WriteAsync(TextTable.Aligned(columns, cells));
                    await env.Output.WriteLineAsync(
                        $"\n{result.Table} as of {ChangeOutput.Time(result.At)}: {result.Rows.Count} rows; {result.CompletenessNote}");
                    break;
            }
            return HindsightCli.Ok;
        }, ct));
        return cmd;
    }
}
