using System.CommandLine;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Hindsight.Configuration;
using Hindsight.Query;
using Npgsql;

namespace Hindsight.Cli;

/// <summary><c>hindsight revert</c>: undo one change, one transaction, or every change matching a filter (design §4).</summary>
internal static class RevertCommand
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static Command Create(CliEnvironment env, SharedOptions o)
    {
        var change = new Option<long?>("--change") { Description = "Revert this one change (its id)", HelpName = "id" };
        var transaction = new Option<long?>("--transaction") { Description = "Revert every change of this source transaction (xid)", HelpName = "xid" };
        var commitLsn = new Option<string>("--commit-lsn") { Description = "Revert every change of the source transaction that committed at this LSN (e.g. 0/16B3748)", HelpName = "lsn" };
        var context = new Option<string>("--context") { Description = "Revert every change whose context contains this JSON object, e.g. '{\"requestId\":\"r-17\"}'", HelpName = "json" };
        var since = QueryOptions.Time("--since", "With a filter: only changes committed at or after this time");
        var until = QueryOptions.Time("--until", "With a filter: only changes committed before this time");
        var tables = QueryOptions.Tables("With a filter: only these tables (table, schema.table, \"Quoted Name\"; comma-separated or repeated)");
        var with = new Option<string>("--with-context") { Description = "Context of the revert itself (e.g. who asked), a JSON object; hindsight.revertOf is added", HelpName = "json" };
        var dryRun = new Option<bool>("--dry-run") { Description = "Print the SQL (with its parameters) and change nothing" };
        var force = new Option<bool>("--force") { Description = "Apply even when rows were changed after the selected changes (overwrites those changes)" };
        var cmd = new Command("revert", "Undo one change, one transaction, or every change matching a filter, newest first, in one transaction")
        {
            change, transaction, commitLsn, context, since, until, tables, with, dryRun, force,
        };
        cmd.SetAction((r, ct) => HindsightCli.Guard(r, env, o, async (conn, token) =>
        {
            var format = HindsightCli.RequireFormat(r, o, "revert", "table", "json");
            var selection = QueryOptions.Input(() => Selection(r.GetValue(change), r.GetValue(transaction), Lsn(r.GetValue(commitLsn)), r.GetValue(context),
                QueryOptions.ParseTime(r.GetValue(since), "--since"), QueryOptions.ParseTime(r.GetValue(until), "--until"),
                QueryOptions.SplitList(r.GetValue(tables)).Select(TableName.Parse).ToList()));
            var callerContext = r.GetValue(with) is { } w
                ? QueryOptions.Input(() => JsonNode.Parse(ValidObject(w, "--with-context")) as JsonObject)
                : null;
            await using var store = QueryOptions.OpenStore(conn);
            await using var source = NpgsqlDataSource.Create(ConnectionStrings.ToNpgsql(conn.Source));
            var reverter = new Reverter(store, source);
            var plan = await reverter.PlanAsync(selection, token);
            var refused = plan.Conflicts.Count > 0 && !r.GetValue(force) && !r.GetValue(dryRun);
            RevertResult? result = refused ? null : await reverter.ApplyAsync(plan, callerContext, r.GetValue(force), r.GetValue(dryRun), token);
            await env.Output.WriteAsync(format == "json" ? Json(plan, result) : Text(plan, result));
            if (refused)
                throw new CliException(
                    $"refused: {plan.Conflicts.Count} row(s) were changed after the selected changes; nothing was changed (add --force to overwrite them)");
            return HindsightCli.Ok;
        }, ct));
        return cmd;
    }

    private static long? Lsn(string? text)
    {
        if (text is null) return null;
        if (!NpgsqlTypes.NpgsqlLogSequenceNumber.TryParse(text.Trim(), out var lsn))
            throw new ArgumentException($"--commit-lsn: '{text}' is not an LSN (e.g. 0/16B3748)", "--commit-lsn");
        return (long)(ulong)lsn;
    }

    private static RevertSelection Selection(long? change, long? transaction, long? commitLsn, string? context, DateTimeOffset? since, DateTimeOffset? until,
        List<TableName> tables)
    {
        var filtered = context is not null || since is not null || until is not null || tables.Count > 0;
        var kinds = (change is null ? 0 : 1) + (transaction is null ? 0 : 1) + (commitLsn is null ? 0 : 1) + (filtered ? 1 : 0);
        if (kinds != 1)
            throw new ArgumentException("give exactly one of --change ID, --transaction XID, --commit-lsn LSN, or a filter (--context, --since, --until, --table)", "selection");
        return filtered
            ? new RevertSelection { Filter = new ChangeFilter { Context = context, Since = since, Until = until, Tables = tables } }
            : new RevertSelection { ChangeId = change, TransactionId = transaction, CommitLsn = commitLsn };
    }

    private static string ValidObject(string text, string option)
    {
        try { return new ChangeFilter { Context = text }.Context!; }
        catch (ArgumentException e) { throw new ArgumentException(e.Message.Replace("context", option, StringComparison.Ordinal), option); }
    }

    private static string Text(RevertPlan plan, RevertResult? result)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"plan: {plan.Statements.Count} statement(s), newest change first");
        foreach (var s in plan.Statements)
            sb.AppendLine($"  change {s.Change.Id}: undo {Model.OperationNames.ToStored(s.Change.Operation)} of {new TableName(s.Change.Schema, s.Change.Table)} key {s.Change.PrimaryKey}");
        foreach (var n in plan.Notes) sb.AppendLine($"note: {n}");
        if (plan.Conflicts.Count > 0)
        {
            sb.AppendLine($"conflicts: {plan.Conflicts.Count}");
            foreach (var c in plan.Conflicts) sb.AppendLine($"  {c.Table} key {c.PrimaryKey}: {c.Reason}");
        }
        if (result is { Applied: false }) sb.AppendLine("\n-- dry run: nothing was changed\n" + result.Sql);
        else if (result is { Applied: true })
            sb.AppendLine($"applied: {result.RowsAffected.Count} statement(s), {result.RowsAffected.Sum()} row(s), in one transaction");
        return sb.ToString();
    }

    private static string Json(RevertPlan plan, RevertResult? result)
    {
        var o = new JsonObject
        {
            ["statements"] = new JsonArray(plan.Statements.Select(s => (JsonNode)new JsonObject
            {
                ["change"] = s.Change.Id,
                ["operation"] = Model.OperationNames.ToStored(s.Change.Operation),
                ["table"] = new TableName(s.Change.Schema, s.Change.Table).ToString(),
                ["primary_key"] = s.Change.PrimaryKey,
                ["sql"] = s.Sql,
                ["parameters"] = new JsonArray(s.Parameters.Select(p => JsonNode.Parse(p)).ToArray()),
            }).ToArray()),
            ["conflicts"] = new JsonArray(plan.Conflicts.Select(c => (JsonNode)new JsonObject
            {
                ["table"] = c.Table.ToString(), ["primary_key"] = c.PrimaryKey, ["reason"] = c.Reason, ["later_change"] = c.LaterChangeId,
            }).ToArray()),
            ["notes"] = new JsonArray(plan.Notes.Select(n => (JsonNode)JsonValue.Create(n)).ToArray()),
            ["applied"] = result?.Applied ?? false,
            ["sql"] = result is { Applied: false } ? result.Sql : null,
        };
        return o.ToJsonString(Indented) + "\n";
    }
}
