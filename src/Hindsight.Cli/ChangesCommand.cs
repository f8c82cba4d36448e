using System.CommandLine;
using System.Globalization;
using Hindsight.Model;
using Hindsight.Postgres;
using Hindsight.Query;

namespace Hindsight.Cli;

/// <summary><c>hindsight changes</c>: the stored changes that match a filter, one page at a time (docs/design.md, "Reading the trail", "CLI conventions").</summary>
internal static class ChangesCommand
{
    public static Command Create(CliEnvironment env, SharedOptions o)
    {
        var tables = QueryOptions.Tables("Only these tables (table = any schema, schema.table, \"Quoted Name\"; comma-separated or repeated)");
        var key = QueryOptions.Key("Only changes of the row with this primary key (a composite key as a JSON array: [1,\"a\"])", required: false);
        var operations = new Option<string[]>("--operation")
        {
            Description = "Only these operations: CREATE, UPDATE, DELETE, TRUNCATE, SNAPSHOT (comma-separated or repeated)",
            HelpName = "op",
            Arity = ArgumentArity.OneOrMore,
            AllowMultipleArgumentsPerToken = false,
        };
        var since = QueryOptions.Time("--since", "Only changes committed at or after this time");
        var until = QueryOptions.Time("--until", "Only changes committed before this time");
        var transaction = new Option<long?>("--transaction") { Description = "Only changes of this source transaction (xid)", HelpName = "xid" };
        var context = new Option<string>("--context") { Description = "Only changes whose context contains this JSON object, e.g. '{\"userId\":\"u1\"}'", HelpName = "json" };
        var limit = Limit();
        var oldestFirst = new Option<bool>("--oldest-first") { Description = "Oldest first (default: newest first)" };
        var cursor = new Option<long?>("--cursor") { Description = "Continue after this change id (printed after a full page)", HelpName = "id" };

        var cmd = new Command("changes", "List stored changes, newest first, filtered by table, key, operation, time, transaction or context")
        {
            tables, key, operations, since, until, transaction, context, limit, oldestFirst, cursor,
        };
        cmd.SetAction((r, ct) => HindsightCli.Guard(r, env, o, async (conn, token) =>
        {
            var format = r.GetValue(o.Format) ?? "table";
            var filter = QueryOptions.Input(() => new ChangeFilter
            {
                Tables = NameList.Split(r.GetValue(tables)).Select(TableName.Parse).ToList(),
                PrimaryKey = r.GetValue(key),
                Operations = NameList.Split(r.GetValue(operations)).Select(OperationParser.Parse).ToList(),
                Since = IsoTime.Parse(r.GetValue(since), "--since"),
                Until = IsoTime.Parse(r.GetValue(until), "--until"),
                TransactionId = r.GetValue(transaction),
                Context = r.GetValue(context),
            });
            var page = new PageRequest { Limit = r.GetValue(limit), OldestFirst = r.GetValue(oldestFirst), Cursor = r.GetValue(cursor) };
            await using var store = QueryOptions.OpenStore(conn);
            var (scopeSource, scopeDatabase) = await QueryOptions.ScopeAsync(conn, store, token);
            filter = filter with { Source = scopeSource, Database = scopeDatabase };
            var result = await new AuditTrail(store).QueryAsync(filter, page, token);
            await env.Output.WriteAsync(format switch
            {
                "json" => ChangeOutput.Json(result.Changes),
                "csv" => ChangeOutput.CsvText(result.Changes),
                _ => ChangeOutput.Table(result.Changes.Select(c => (c, c.Diff())), await SchemaChangesAmongAsync(store, filter, result.Changes, token),
                    newestFirst: !page.OldestFirst),
            });
            if (result.NextCursor is { } next)
            {
                // Not part of the data: json and csv keep stdout parseable.
                var hint = string.Create(CultureInfo.InvariantCulture, $"more changes: add --cursor {next}");
                await (format == "table" ? env.Output : env.Error).WriteLineAsync(format == "table" ? "\n" + hint : "hindsight: " + hint);
            }
            return HindsightCli.Ok;
        }, ct));
        return cmd;
    }

    /// <summary>
    /// With a table filter, the schema changes of those tables committed within the page's span of time (and the filter's):
    /// the table view lists them among the row changes.
    /// </summary>
    private static async Task<IReadOnlyList<SchemaChange>> SchemaChangesAmongAsync(Npgsql.NpgsqlDataSource store, ChangeFilter filter,
        IReadOnlyList<Change> changes, CancellationToken ct)
    {
        if (filter.Tables.Count == 0 || changes.Count == 0) return [];
        var oldest = changes.Min(c => c.CommittedAt);
        var newest = changes.Max(c => c.CommittedAt);
        return await new AuditTrail(store).SchemaChangesAsync(new SchemaChangeFilter
        {
            Tables = filter.Tables, Source = filter.Source, Database = filter.Database, Limit = SchemaChangeFilter.MaxLimit,
            Since = filter.Since is { } since && since > oldest ? since : oldest,
            Until = filter.Until is { } until && until < newest ? until : newest.AddTicks(10), // past the newest change's microsecond
        }, ct);
    }

    /// <summary>--limit: 1 to 10,000 changes per page.</summary>
    public static Option<int> Limit()
    {
        var limit = new Option<int>("--limit") { Description = $"Changes per page, 1 to {PageRequest.MaxLimit}", DefaultValueFactory = _ => 100, HelpName = "n" };
        limit.Validators.Add(result =>
        {
            if (HindsightCli.Parsed(result, out int v) && v is < 1 or > PageRequest.MaxLimit) result.AddError($"--limit must be between 1 and {PageRequest.MaxLimit} (got {v})");
        });
        return limit;
    }
}
