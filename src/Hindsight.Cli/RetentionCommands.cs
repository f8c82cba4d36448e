using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Hindsight.Model;
using Hindsight.Postgres;
using Hindsight.Query;
using Hindsight.Retention;

namespace Hindsight.Cli;

/// <summary>
/// <c>hindsight prune</c>, <c>hindsight hold</c> and <c>hindsight retention</c>: pruning old changes (folded into one
/// SNAPSHOT per row), legal holds that keep changes from it, and the per-table policies the worker applies (docs/store.md).
/// </summary>
internal static partial class RetentionCommands
{
    public static IEnumerable<Command> Create(CliEnvironment env, SharedOptions o) => [Prune(env, o), Hold(env, o), Policies(env, o)];

    private static Command Prune(CliEnvironment env, SharedOptions o)
    {
        var olderThan = new Option<string?>("--older-than") { Description = "Prune changes committed longer ago than this: a number of hours, days or weeks (12h, 90d, 8w)", HelpName = "age" };
        var before = QueryOptions.Time("--before", "Prune changes committed before this moment (instead of --older-than)");
        var tables = QueryOptions.Tables("Only these tables' changes (comma-separated or repeated); default: every table");
        var dryRun = new Option<bool>("--dry-run") { Description = "Say what would be pruned, and change nothing" };
        var cmd = new Command("prune",
            "Remove the changes committed before a horizon, except held ones; each row that existed then keeps one SNAPSHOT change at the horizon, so as-of at or after it stays exact")
        {
            olderThan, before, tables, dryRun,
        };
        cmd.SetAction((r, ct) => HindsightCli.Guard(r, env, o, async (conn, token) =>
        {
            var format = HindsightCli.RequireFormat(r, o, "prune", "table", "json");
            // Checked before connecting: bad input changes nothing.
            var horizon = (r.GetValue(olderThan), r.GetValue(before)) switch
            {
                ({ } age, null) => DateTimeOffset.UtcNow - Age(age, "--older-than"),
                (null, { } at) => IsoTime.Parse(at, "--before")!.Value,
                (null, null) => throw new CliException("say how old the changes to prune are: --older-than 90d, or --before 2026-01-01"),
                _ => throw new CliException("give --older-than or --before, not both"),
            };
            var named = QueryOptions.Input(() => NameList.Split(r.GetValue(tables)).Select(TableName.Parse).ToList());
            await using var store = QueryOptions.OpenStore(conn);
            var result = await new Pruner(store).PruneAsync(horizon, named, r.GetValue(dryRun), token);
            await env.Output.WriteAsync(format == "json" ? JsonSerializer.Serialize(result, HindsightCli.Json) + "\n" : PruneText(result));
            return HindsightCli.Ok;
        }, ct));
        return cmd;
    }

    private static Command Hold(CliEnvironment env, SharedOptions o)
    {
        var table = new Option<string?>("--table") { Description = "Hold this table's changes", HelpName = "table" };
        var key = new Option<string?>("--key") { Description = "Only this row's (its primary key as the trail shows it: 42, or [7,\"x\"] for a composite key)", HelpName = "key" };
        var context = new Option<string?>("--context") { Description = "Hold the changes whose context contains this JSON object, e.g. {\"userId\":\"alice\"}", HelpName = "json" };
        var reason = new Option<string?>("--reason") { Description = "Why (the case or ticket); required", HelpName = "text" };
        var add = new Command("add", "Place a legal hold: the changes it matches are never pruned") { table, key, context, reason };
        add.SetAction((r, ct) => HindsightCli.Guard(r, env, o, async (conn, token) =>
        {
            var named = QueryOptions.Input(() => r.GetValue(table) is { } t ? TableName.Parse(t) : null);
            var ctx = r.GetValue(context) is { } json ? ParseObject(json) : null;
            await using var store = QueryOptions.OpenStore(conn);
            var hold = await new Pruner(store).HoldAsync(named, r.GetValue(key), ctx, r.GetValue(reason) ?? "", null, token);
            await env.Output.WriteLineAsync($"hold {hold.Id} placed: {hold.Describe()}");
            return HindsightCli.Ok;
        }, ct));

        var list = new Command("list", "The legal holds in place");
        list.SetAction((r, ct) => HindsightCli.Guard(r, env, o, async (conn, token) =>
        {
            var format = HindsightCli.RequireFormat(r, o, "hold list", "table", "json");
            await using var store = QueryOptions.OpenStore(conn);
            var holds = await new Pruner(store).HoldsAsync(token);
            await env.Output.WriteAsync(format == "json" ? JsonSerializer.Serialize(holds, HindsightCli.Json) + "\n" : HoldsText(holds));
            return HindsightCli.Ok;
        }, ct));

        var id = new Argument<long>("id") { Description = "The hold's number (hold list)" };
        var remove = new Command("remove", "Lift a legal hold") { id };
        remove.SetAction((r, ct) => HindsightCli.Guard(r, env, o, async (conn, token) =>
        {
            await using var store = QueryOptions.OpenStore(conn);
            if (!await new Pruner(store).ReleaseHoldAsync(r.GetValue(id), token))
                throw new CliException($"there is no hold {r.GetValue(id)} (hindsight hold list)");
            await env.Output.WriteLineAsync($"hold {r.GetValue(id)} lifted");
            return HindsightCli.Ok;
        }, ct));
        return new Command("hold", "Legal holds: changes that are never pruned") { add, list, remove };
    }

    private static Command Policies(CliEnvironment env, SharedOptions o)
    {
        var table = new Option<string>("--table") { Description = "The table ('*' for every table)", HelpName = "table", Required = true };
        var keep = new Option<string>("--keep") { Description = "How long its changes are kept: hours, days or weeks (90d)", HelpName = "age", Required = true };
        var set = new Command("set", "Keep a table's changes this long; the worker prunes older ones (every 10 minutes)") { table, keep };
        set.SetAction((r, ct) => HindsightCli.Guard(r, env, o, async (conn, token) =>
        {
            var age = Age(r.GetValue(keep)!, "--keep");
            var named = QueryOptions.Input(() => TableName.Parse(r.GetValue(table)!));
            await using var store = QueryOptions.OpenStore(conn);
            var policy = await new Pruner(store).SetPolicyAsync(named, age, token);
            await env.Output.WriteLineAsync($"retention of {PolicyTable(policy)}: {Days(policy.Keep)}");
            return HindsightCli.Ok;
        }, ct));

        var list = new Command("list", "The retention policies");
        list.SetAction((r, ct) => HindsightCli.Guard(r, env, o, async (conn, token) =>
        {
            var format = HindsightCli.RequireFormat(r, o, "retention list", "table", "json");
            await using var store = QueryOptions.OpenStore(conn);
            var policies = await new Pruner(store).PoliciesAsync(token);
            if (format == "json") await env.Output.WriteAsync(JsonSerializer.Serialize(policies, HindsightCli.Json) + "\n");
            else if (policies.Count == 0) await env.Output.WriteLineAsync("no retention policies: every change is kept");
            else
                await env.Output.WriteAsync(TextTable.Aligned(["table", "keep", "set at", "by"],
                    policies.Select(p => new[] { PolicyTable(p), Days(p.Keep), p.CreatedAt.UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture), p.CreatedBy }).ToList()));
            return HindsightCli.Ok;
        }, ct));

        var removeTable = new Option<string>("--table") { Description = "The table whose policy goes", HelpName = "table", Required = true };
        var remove = new Command("remove", "Remove a table's retention policy (its changes are kept from then on)") { removeTable };
        remove.SetAction((r, ct) => HindsightCli.Guard(r, env, o, async (conn, token) =>
        {
            var named = QueryOptions.Input(() => TableName.Parse(r.GetValue(removeTable)!));
            await using var store = QueryOptions.OpenStore(conn);
            if (!await new Pruner(store).RemovePolicyAsync(named, token))
                throw new CliException($"table {named} has no retention policy (hindsight retention list)");
            await env.Output.WriteLineAsync($"retention policy of {named} removed");
            return HindsightCli.Ok;
        }, ct));
        return new Command("retention", "Per-table retention policies, applied by the worker") { set, list, remove };
    }

    /// <summary>An age as hours, days or weeks; anything else, zero or less, is refused.</summary>
    internal static TimeSpan Age(string text, string option)
    {
        var m = AgePattern().Match(text.Trim());
        if (!m.Success)
            throw new CliException($"{option} takes an age in hours, days or weeks, such as 12h, 90d or 8w (got '{text}')");
        var n = long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        if (n <= 0) throw new CliException($"{option} must be more than 0 (got '{text}'): nothing was changed");
        return m.Groups[2].Value switch { "h" => TimeSpan.FromHours(n), "d" => TimeSpan.FromDays(n), _ => TimeSpan.FromDays(7 * n) };
    }

    [GeneratedRegex(@"^(-?\d{1,6})\s*(h|d|w)$")]
    private static partial Regex AgePattern();

    private static JsonObject ParseObject(string json)
    {
        try { return JsonNode.Parse(json) as JsonObject ?? throw new CliException($"--context takes a JSON object (got '{json}')"); }
        catch (JsonException e) { throw new CliException($"--context is not valid JSON: {e.Message}"); }
    }

    private static string PruneText(PruneResult result)
    {
        var sb = new StringBuilder();
        var horizon = result.Horizon.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        sb.AppendLine(CultureInfo.InvariantCulture, $"{(result.DryRun ? "would prune" : "pruned")} {result.Pruned:N0} change(s) committed before {horizon}; " +
                                                    $"{result.Folded:N0} row(s) that existed then {(result.DryRun ? "would be" : "are")} kept as one SNAPSHOT change each");
        if (result.Tables.Count > 0)
            sb.Append(TextTable.Aligned(["source", "table", "pruned", "folded", "held"],
                result.Tables.Select(t => new[]
                {
                    t.Source, new TableName(t.Schema, t.Table).ToString(), t.Pruned.ToString("N0", CultureInfo.InvariantCulture),
                    t.Folded.ToString("N0", CultureInfo.InvariantCulture), t.Held.ToString("N0", CultureInfo.InvariantCulture),
                }).ToList()));
        if (result.DroppedPartitions.Count > 0) sb.AppendLine("partitions dropped whole: " + string.Join(", ", result.DroppedPartitions));
        return sb.ToString();
    }

    private static string HoldsText(IReadOnlyList<LegalHold> holds)
    {
        if (holds.Count == 0) return "no legal holds\n";
        return TextTable.Aligned(["id", "holds", "reason", "placed", "by"],
            holds.Select(h => new[]
            {
                h.Id.ToString(CultureInfo.InvariantCulture), h.Describe(), h.Reason,
                h.CreatedAt.UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture), h.CreatedBy,
            }).ToList());
    }

    private static string PolicyTable(RetentionPolicy p) => p.Table == "*" ? "every table" : new TableName(p.Schema, p.Table).ToString();

    private static string Days(TimeSpan t) =>
        t.TotalDays >= 1 && t.TotalDays == Math.Floor(t.TotalDays) ? $"{t.TotalDays:0} days" : $"{t.TotalHours:0} hours";
}
