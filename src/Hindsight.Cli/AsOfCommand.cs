using System.CommandLine;
using System.Text;
using Hindsight.Model;
using Hindsight.Query;

namespace Hindsight.Cli;

/// <summary><c>hindsight as-of</c>: a table, or one row of it, as it was at a moment, a transaction or an LSN (docs/design.md, "Reading the trail").</summary>
internal static class AsOfCommand
{
    public static Command Create(CliEnvironment env, SharedOptions o)
    {
        var table = QueryOptions.Table("The table (table or schema.table)", required: true);
        var at = QueryOptions.Time("--at", "The moment: changes committed at or before it count");
        var transaction = new Option<long?>("--transaction")
        {
            Description = "Right after this source transaction (xid) committed: changes committed up to its commit LSN count",
            HelpName = "xid",
        };
        var lsn = new Option<string>("--lsn")
        {
            Description = "At this WAL position (e.g. 0/16B3748): changes whose commit LSN is at or before it count",
            HelpName = "lsn",
        };
        var key = QueryOptions.Key("Only the row with this primary key (a composite key as a JSON array: [1,\"a\"])", required: false);
        var cmd = new Command("as-of",
            "A table, or one row, as it was at a moment (--at), right after a transaction (--transaction) or at an LSN (--lsn); " +
            "complete only for rows changed since tracking began")
        {
            table, at, transaction, lsn, key,
        };
        cmd.SetAction((r, ct) => HindsightCli.Guard(r, env, o, async (conn, token) =>
        {
            var format = r.GetValue(o.Format) ?? "table";
            var name = QueryOptions.Input(() => TableName.Parse(r.GetValue(table)!));
            var point = Point(IsoTime.Parse(r.GetValue(at), "--at"), r.GetValue(transaction), r.GetValue(lsn));
            await using var store = QueryOptions.OpenStore(conn);
            var (source, database) = await QueryOptions.ScopeAsync(conn, store, token);
            var result = await new AuditTrail(store).AsOfAsync(name, point, r.GetValue(key), database, source, token);
            var summary = $"{result.Rows.Count} rows; {result.CompletenessNote}" + (result.UntrackedNote is { } untracked ? $"; {untracked}" : "");
            switch (format)
            {
                case "json":
                    await AsOfOutput.WriteJsonAsync(env.Output, result.Rows, token);
                    await env.Error.WriteLineAsync($"hindsight: {result.Table} {result.PointNote}: {summary}");
                    break;
                case "csv":
                {
                    var (columns, rows) = AsOfOutput.Cells(result.Rows, jsonNull: null, result.UntrackedColumns);
                    var sb = new StringBuilder(Csv.Line(columns));
                    foreach (var row in rows) sb.Append(Csv.Line(row));
                    await env.Output.WriteAsync(sb, token);
                    await env.Error.WriteLineAsync($"hindsight: {result.Table} {result.PointNote}: {summary}");
                    break;
                }
                default:
                {
                    var (columns, rows) = AsOfOutput.Cells(result.Rows, jsonNull: "null", result.UntrackedColumns);
                    var cells = rows.Select(row => row.Select(v => TextTable.Cell(v, 32)).ToArray()).ToList();
                    if (columns.Length > 0) await env.Output.WriteAsync(TextTable.Aligned(columns, cells));
                    await env.Output.WriteLineAsync($"\n{result.Table} {result.PointNote}: {summary}");
                    break;
                }
            }
            return HindsightCli.Ok;
        }, ct));
        return cmd;
    }

    /// <summary>The one point given: --at, --transaction or --lsn.</summary>
    private static AsOfPoint Point(DateTimeOffset? at, long? transaction, string? lsn)
    {
        var given = (at is null ? 0 : 1) + (transaction is null ? 0 : 1) + (lsn is null ? 0 : 1);
        if (given != 1)
            throw new CliException(given == 0
                ? "as-of needs a point: --at TIME, --transaction XID or --lsn LSN"
                : "--at, --transaction and --lsn are mutually exclusive: give one");
        if (at is { } time) return AsOfPoint.At(time);
        if (transaction is { } xid)
            return xid is >= 0 and <= uint.MaxValue
                ? AsOfPoint.AfterTransaction(xid)
                : throw new CliException($"--transaction: {xid} is not a transaction id (0 to {uint.MaxValue})");
        return AsOfPoint.AtLsn(QueryOptions.ParseLsn(lsn!, "--lsn"));
    }
}
