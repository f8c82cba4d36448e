using System.Globalization;
using System.Text.Json.Nodes;
using Hindsight.Model;
using Hindsight.Query;
using Hindsight.Revert;
using Hindsight.Worker;
using Npgsql;

namespace Hindsight.Cli;

/// <summary>
/// The demo's second half (table view only): the history of order 1, the orders table as it was just before
/// the support agent's payment, and a revert of the billing job's request — all through the query library.
/// </summary>
internal static class DemoTimeTravel
{
    private static readonly TableName Orders = TableName.Parse("public.orders");

    public static async Task PrintAsync(NpgsqlDataSource database, string databaseName, string slot, TextWriter output, CancellationToken ct)
    {
        var trail = new AuditTrail(database);

        // 1. Every version of one row, with what changed, who and from where.
        var history = await trail.HistoryAsync(Orders, "1", database: databaseName, ct: ct);
        await output.WriteLineAsync("\nhistory of orders 1 (hindsight history --table orders --key 1):");
        var rows = history.Versions.Select(v => new[]
        {
            v.Change.CommittedAt.UtcDateTime.ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture),
            v.Change.Operation.ToString().ToUpperInvariant(),
            Who(v.Change.Context),
            What(v.Change),
        }).ToList();
        await output.WriteAsync(TextTable.Aligned(["time (UTC)", "operation", "who", "what changed"], rows));

        // 2. The table as it was just before the payment (time travel).
        var payment = history.Versions.First(v => v.Change.Operation == Operation.Update && v.Diff.Any(d => d.Column == "status"));
        var before = payment.Change.CommittedAt.AddTicks(-10); // one microsecond earlier
        var asOf = await trail.AsOfAsync(Orders, before, database: databaseName, ct: ct);
        await output.WriteLineAsync($"\norders as of {before.UtcDateTime:HH:mm:ss.ffffff} UTC, just before {Who(payment.Change.Context)} paid " +
                                    "(hindsight as-of --table orders --at …):");
        await output.WriteAsync(TextTable.Aligned(["id", "status", "total", "details"],
            asOf.Rows.Select(r => new[] { ChangeOutput.Show(r.Row["id"]), ChangeOutput.Show(r.Row["status"]), ChangeOutput.Show(r.Row["total"]), Shorten(ChangeOutput.Show(r.Row["details"])) }).ToList()));
        await output.WriteLineAsync($"({asOf.CompletenessNote})");

        // 3. Undo one request: every change the billing job made, in one transaction that says what it reverts.
        var reverter = new Reverter(database, database);
        var plan = await reverter.PlanAsync(new RevertSelection
        {
            Filter = new ChangeFilter { Database = databaseName, Context = """{"job":"invoice-paid-orders"}""" },
        }, ct);
        var result = await reverter.ApplyAsync(plan, new JsonObject { ["userId"] = "demo", ["reason"] = "the invoices went out twice" }, ct: ct);
        await CatchUp.WaitAsync(database, database, slot, TimeSpan.FromSeconds(30), ct);
        await output.WriteLineAsync($"\nreverted the billing job (hindsight revert --context '{{\"job\":\"invoice-paid-orders\"}}'): " +
                                    $"{result.RowsAffected.Count} statement(s) in one transaction, {plan.Conflicts.Count} conflict(s); the revert is in the trail too:");
        var last = (await trail.HistoryAsync(Orders, "1", newestFirst: true, database: databaseName, ct: ct)).Versions[0];
        await output.WriteAsync(TextTable.Aligned(["time (UTC)", "operation", "context", "what changed"],
        [
            [
                last.Change.CommittedAt.UtcDateTime.ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture),
                last.Change.Operation.ToString().ToUpperInvariant(),
                Shorten(last.Change.Context.ToJsonString(), 60),
                What(last.Change),
            ],
        ]));
    }

    // The same few words as the trail above: the new row, the changed columns (one level into JSON), the removed row.
    private static string What(Change c) =>
        DemoCommand.Summarize(c.Operation.ToStored(), c.Before.ToJsonString(), c.After.ToJsonString());

    private static string Who(JsonObject context) =>
        context["userId"]?.ToString() ?? (context["hindsight"]?["revertOf"] is not null ? "revert" : "-");


    private static string Shorten(string text, int max = 72) => TextTable.Cell(text, max);
}
