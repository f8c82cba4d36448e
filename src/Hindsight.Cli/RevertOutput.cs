using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Hindsight.Revert;

namespace Hindsight.Cli;

/// <summary>A revert plan (and what applying it did) as text for terminals, a JSON object, or CSV rows of statements and conflicts.</summary>
internal static class RevertOutput
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private static readonly JsonSerializerOptions Compact = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The CSV columns: one row per statement (in the order they run), then one per conflict.</summary>
    public static readonly string[] CsvColumns = ["kind", "table", "primary_key", "action", "change", "later_change", "sql", "parameters", "reason"];

    public static string Text(RevertPlan plan, RevertResult? result)
    {
        var sb = new StringBuilder();
        sb.AppendLine(plan.Selection.RollbackTo is { } to
            ? $"plan: {plan.Statements.Count} statement(s) rolling {string.Join(", ", to.Tables)} to {ChangeOutput.Time(to.At)}"
            : $"plan: {plan.Statements.Count} statement(s), newest change first (parents first where foreign keys need it)");
        foreach (var s in plan.Statements)
            sb.AppendLine(s.Change is { } c
                ? $"  change {c.Id}: undo {Model.OperationNames.ToStored(c.Operation)} of {s.Table} key {s.PrimaryKey}"
                : $"  {s.Action} {s.Table} key {s.PrimaryKey}");
        foreach (var n in plan.Notes) sb.AppendLine($"note: {n}");
        if (plan.Conflicts.Count > 0)
        {
            sb.AppendLine($"conflicts: {plan.Conflicts.Count}");
            foreach (var c in plan.Conflicts) sb.AppendLine($"  {c.Table} key {c.PrimaryKey}: {c.Reason}");
        }
        if (result is { Applied: false }) sb.AppendLine("\n-- dry run: nothing was changed\n" + result.Sql);
        else if (result is { Applied: true }) sb.AppendLine(Applied(result));
        return sb.ToString();
    }

    public static string Json(RevertPlan plan, RevertResult? result)
    {
        var o = new JsonObject
        {
            ["statements"] = new JsonArray(plan.Statements.Select(s => (JsonNode)new JsonObject
            {
                ["change"] = s.Change?.Id,
                ["operation"] = s.Change is { } c ? Model.OperationNames.ToStored(c.Operation) : null,
                ["action"] = s.Action,
                ["table"] = s.Table.ToString(),
                ["primary_key"] = s.PrimaryKey,
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

    /// <summary>Statements and conflicts as CSV (stdout stays CSV: notes and the outcome go to stderr, see <see cref="CsvSideNotes"/>).</summary>
    public static string Csv(RevertPlan plan)
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder(Cli.Csv.Line(CsvColumns));
        foreach (var s in plan.Statements)
            sb.Append(Cli.Csv.Line(
            [
                "statement", s.Table.ToString(), s.PrimaryKey, s.Action, s.Change?.Id.ToString(inv), null, s.Sql,
                new JsonArray(s.Parameters.Select(p => JsonNode.Parse(p)).ToArray()).ToJsonString(Compact), null,
            ]));
        foreach (var c in plan.Conflicts)
            sb.Append(Cli.Csv.Line(["conflict", c.Table.ToString(), c.PrimaryKey, null, null, c.LaterChangeId?.ToString(inv), null, null, c.Reason]));
        return sb.ToString();
    }

    /// <summary>The lines that go to stderr with CSV output: notes, and what happened.</summary>
    public static IEnumerable<string> CsvSideNotes(RevertPlan plan, RevertResult? result)
    {
        foreach (var n in plan.Notes) yield return $"hindsight: note: {n}";
        if (result is { Applied: false }) yield return "hindsight: dry run: nothing was changed";
        else if (result is { Applied: true }) yield return "hindsight: " + Applied(result);
    }

    private static string Applied(RevertResult result) =>
        $"applied: {result.RowsAffected.Count} statement(s), {result.RowsAffected.Sum()} row(s), in one transaction";
}
