using System.CommandLine;
using System.Text.Json.Nodes;
using Hindsight.Configuration;
using Hindsight.Model;
using Hindsight.Postgres;
using Hindsight.Query;
using Hindsight.Revert;
using Npgsql;

namespace Hindsight.Cli;

/// <summary>
/// <c>hindsight revert</c>: undo one change, one transaction, or every change matching a filter; or roll tables back (or
/// forward) to a moment with <c>--table … --to</c> (docs/design.md, "Revert and rollback rules").
/// </summary>
internal static class RevertCommand
{
    public static Command Create(CliEnvironment env, SharedOptions o)
    {
        var change = new Option<long?>("--change") { Description = "Revert this one change (its id)", HelpName = "id" };
        var transaction = new Option<long?>("--transaction") { Description = "Revert every change of this source transaction (xid)", HelpName = "xid" };
        var commitLsn = new Option<string>("--commit-lsn") { Description = "Revert every change of the source transaction that committed at this LSN (e.g. 0/16B3748)", HelpName = "lsn" };
        var context = new Option<string>("--context") { Description = "Revert every change whose context contains this JSON object, e.g. '{\"requestId\":\"r-17\"}'", HelpName = "json" };
        var since = QueryOptions.Time("--since", "With a filter: only changes committed at or after this time");
        var until = QueryOptions.Time("--until", "With a filter: only changes committed before this time");
        var tables = QueryOptions.Tables("With a filter: only these tables; with --to: the tables to roll (table, schema.table, \"Quoted Name\"; comma-separated or repeated)");
        var to = QueryOptions.Time("--to", "Roll the --table tables back (or forward) to this moment: every row the trail knows made as it was then");
        var with = new Option<string>("--with-context") { Description = "Context of the revert itself (e.g. who asked), a JSON object; hindsight.revertOf is added", HelpName = "json" };
        var dryRun = new Option<bool>("--dry-run") { Description = "Print the SQL (with its parameters) and change nothing" };
        var force = new Option<bool>("--force") { Description = "Apply even when rows conflict: changed after the selected changes, or (rolling to a moment) not as the trail says; overwrites them" };
        var cmd = new Command("revert",
            "Undo one change, one transaction, or every change matching a filter, newest first; or roll tables to a moment (--table … --to); in one transaction")
        {
            change, transaction, commitLsn, context, since, until, tables, to, with, dryRun, force,
        };
        cmd.SetAction((r, ct) => HindsightCli.Guard(r, env, o, async (conn, token) =>
        {
            var format = HindsightCli.RequireFormat(r, o, "revert", "table", "json", "csv");
            var selection = QueryOptions.Input(() => Selection(r.GetValue(change), r.GetValue(transaction), Lsn(r.GetValue(commitLsn)), r.GetValue(context),
                IsoTime.Parse(r.GetValue(since), "--since"), IsoTime.Parse(r.GetValue(until), "--until"),
                NameList.Split(r.GetValue(tables)).Select(TableName.Parse).ToList(), IsoTime.Parse(r.GetValue(to), "--to")));
            var callerContext = r.GetValue(with) is { } w
                ? QueryOptions.Input(() => JsonNode.Parse(ValidObject(w, "--with-context")) as JsonObject)
                : null;
            await using var store = QueryOptions.OpenStore(conn);
            await using var source = NpgsqlDataSource.Create(ConnectionStrings.ToNpgsql(conn.SourceConnectionString));
            var progress = new RevertProgressDisplay(env, selection.RollbackTo is null ? "revert" : "rollback");
            var reverter = new Reverter(store, source, conn.SourceName == "*" ? null : conn.SourceName) { Progress = progress };
            var plan = await reverter.PlanAsync(selection, token);
            var refused = plan.Conflicts.Count > 0 && !r.GetValue(force) && !r.GetValue(dryRun);
            RevertResult? result = refused ? null
                : await progress.ShowWhileAsync(t => reverter.ApplyAsync(plan, callerContext, r.GetValue(force), r.GetValue(dryRun), t), token);
            switch (format)
            {
                case "json": await env.Output.WriteAsync(RevertOutput.Json(plan, result)); break;
                case "csv":
                    await env.Output.WriteAsync(RevertOutput.Csv(plan));
                    foreach (var line in RevertOutput.CsvSideNotes(plan, result)) await env.Error.WriteLineAsync(line);
                    break;
                default: await env.Output.WriteAsync(RevertOutput.Text(plan, result)); break;
            }
            if (refused)
                throw new CliException($"refused: {plan.ConflictSummary}; nothing was changed (add --force to overwrite them)");
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
        List<TableName> tables, DateTimeOffset? to)
    {
        if (to is { } moment)
        {
            // --table names the tables to roll here, not a filter: every other selection is refused.
            if (change is not null || transaction is not null || commitLsn is not null || context is not null || since is not null || until is not null)
                throw new ArgumentException("--to rolls tables to a moment: give it only --table, not --change, --transaction, --commit-lsn, --context, --since or --until", "selection");
            if (tables.Count == 0) throw new ArgumentException("--to needs the tables to roll: --table TABLE (repeated or comma-separated)", "selection");
            return new RevertSelection { RollbackTo = new RollbackTarget(tables, moment) };
        }
        var filtered = context is not null || since is not null || until is not null || tables.Count > 0;
        var kinds = (change is null ? 0 : 1) + (transaction is null ? 0 : 1) + (commitLsn is null ? 0 : 1) + (filtered ? 1 : 0);
        if (kinds != 1)
            throw new ArgumentException(
                "give exactly one of --change ID, --transaction XID, --commit-lsn LSN, a filter (--context, --since, --until, --table), or --table with --to TIME", "selection");
        return filtered
            ? new RevertSelection { Filter = new ChangeFilter { Context = context, Since = since, Until = until, Tables = tables } }
            : new RevertSelection { ChangeId = change, TransactionId = transaction, CommitLsn = commitLsn };
    }

    private static string ValidObject(string text, string option)
    {
        try { return new ChangeFilter { Context = text }.Context!; }
        catch (ArgumentException e) { throw new ArgumentException(e.Message.Replace("context", option, StringComparison.Ordinal), option); }
    }
}
