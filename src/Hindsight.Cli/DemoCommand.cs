using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Hindsight.Embedded;
using Hindsight.Samples.Shop;
using Hindsight.Worker;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Hindsight.Setup;
using Npgsql;

namespace Hindsight.Cli;

/// <summary>
/// <c>hindsight demo</c>: a private PostgreSQL, the sample shop (ASP.NET Core + EF Core with both Hindsight
/// integrations) hosted in-process, setup, capture in the background, requests by several users, a
/// background job and a hand-made SQL change, and the resulting audit trail: who did what, from where.
/// </summary>
internal static class DemoCommand
{
    private const string Database = "shop";

    public static Command Create(CliEnvironment env, SharedOptions o)
    {
        var timeout = new Option<int>("--timeout")
        {
            Description = "Seconds to wait for the capture worker to store the demo's changes",
            DefaultValueFactory = _ => 15,
        };
        timeout.Validators.Add(r => { if (r.GetValueOrDefault<int>() <= 0) r.AddError("--timeout must be a positive number of seconds"); });
        var noServe = new Option<bool>("--no-serve")
        {
            Description = "End after printing, without serving the dashboard",
        };
        var urls = new Option<string[]>("--urls")
        {
            Description = $"Where the dashboard listens (default {DemoDashboard.DefaultUrl}: this machine only, a free port)",
            HelpName = "url",
            Arity = ArgumentArity.OneOrMore,
            AllowMultipleArgumentsPerToken = false,
        };
        var cmd = new Command("demo",
            "Start a private PostgreSQL from this machine's binaries, make changes with application context, capture them, print the audit trail, " +
            "then serve the dashboard over it until Ctrl+C")
        {
            timeout, noServe, urls,
        };
        cmd.SetAction((r, ct) => HindsightCli.GuardCore(r, env, o, token => RunAsync(r, env, o, TimeSpan.FromSeconds(r.GetValue(timeout)),
                r.GetValue(noServe) ? null : QueryOptions.SplitList(r.GetValue(urls)).ToList(), token),
            ct, gracefulOnCancel: false));
        return cmd;
    }

    // serveUrls: where to serve the dashboard at the end (empty: a free port on 127.0.0.1); null not to serve it.
    private static async Task<int> RunAsync(ParseResult r, CliEnvironment env, SharedOptions o, TimeSpan timeout, IReadOnlyList<string>? serveUrls,
        CancellationToken ct)
    {
        var format = r.GetValue(o.Format) ?? "table";
        var verbose = r.GetValue(o.Verbose);
        // With json/csv, stdout carries only the trail; progress goes to stderr.
        var progress = format == "table" ? env.Output : env.Error;
        var clock = Stopwatch.StartNew();
        void Say(string line) => progress.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[{clock.Elapsed.TotalSeconds,5:0.0}s] {line}"));

        Say("starting a private PostgreSQL server from this machine's binaries ...");
        await using var server = await PrivatePostgresServer.StartAsync(cancellationToken: ct);
        Say($"PostgreSQL is listening on 127.0.0.1:{server.Port} (data in {server.Directory}, removed at exit)");

        await using (var admin = new NpgsqlConnection(server.ConnectionString()))
        {
            await admin.OpenAsync(ct);
            await using var create = new NpgsqlCommand($"CREATE DATABASE {Database}", admin);
            await create.ExecuteNonQueryAsync(ct);
        }
        var cs = server.ConnectionString(Database);
        await using var database = NpgsqlDataSource.Create(cs);

        // The sample shop (samples/Hindsight.Samples.Shop), hosted here on a free local port.
        await using var shop = ShopApp.Build(cs, configure: b =>
        {
            b.WebHost.UseUrls("http://127.0.0.1:0");
            b.Logging.ClearProviders();
            if (verbose) b.Logging.AddConsole();
        });
        await ShopApp.CreateSchemaAsync(shop, ct);
        Say("created the sample shop's tables with EF Core: customers, orders (jsonb details), order_items (composite key)");

        var slot = r.GetValue(o.Slot)!;
        var publication = r.GetValue(o.Publication)!;
        // --snapshot: a baseline of the tables as they are now (empty here), so as-of is complete from the start.
        var report = await new SetupRunner(new SetupOptions { SourceConnectionString = cs, Slot = slot, Publication = publication, Snapshot = true })
            .RunAsync(ct);
        Say($"hindsight setup --snapshot: store schema v{report.StoreVersion}, publication {report.Publication} " +
            $"(FOR TABLES IN SCHEMA {string.Join(", ", report.PublishedSchemas)}), slot {report.Slot}, REPLICA IDENTITY FULL on " +
            $"{string.Join(", ", report.Tables.Select(t => t.Name))}, baseline of {report.Baseline!.Rows} existing rows at {report.Baseline.Lsn}");

        using var loggerFactory = HindsightCli.CreateLoggerFactory(verbose ? LogLevel.Debug : LogLevel.Warning);
        using var stopWorker = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var worker = new CaptureWorker(new CaptureOptions { SourceConnectionString = cs, Slot = slot, Publication = publication }, loggerFactory);
        var workerTask = Task.Run(() => worker.RunAsync(stopWorker.Token), CancellationToken.None);
        Say("capture worker started in the background");

        try
        {
            await shop.StartAsync(ct);
            var address = shop.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            Say($"the sample shop (ASP.NET Core + EF Core, UseHindsight) is serving on {address}");
            using var http = new HttpClient { BaseAddress = new Uri(address) };
            var steps = await DemoShopScript.RunAsync(http, database, ct);
            foreach (var step in steps) Say($"  {step.Who,-26} {step.What}");
            await shop.StopAsync(ct);

            try { await WaitUntilStoredAsync(database, slot, workerTask, timeout, ct); }
            catch (TimeoutException)
            {
                var why = workerTask.IsFaulted
                    ? "the capture worker failed: " + HindsightCli.Describe(workerTask.Exception!.GetBaseException())
                    : "the capture worker is behind";
                throw new CliException(string.Create(CultureInfo.InvariantCulture,
                    $"timed out after {timeout.TotalSeconds:0} s waiting for the audit trail ({why}; --timeout waits longer, --verbose shows the worker's log)"));
            }
            Say("every change the shop made is stored in hindsight.changes");

            await PrintTrailAsync(database, env.Output, format, ct);
            // History, time travel and revert through the query library: for people reading a terminal, so the
            // json and csv outputs stay exactly the trail.
            if (format == "table") await DemoTimeTravel.PrintAsync(database, Database, slot, env.Output, ct);
            // The worker keeps capturing while the dashboard serves: reverts made there, and changes made by hand, show up.
            if (serveUrls is not null)
            {
                await progress.FlushAsync(ct);
                await DemoDashboard.ServeAsync(cs, slot, publication, serveUrls, verbose, Say, ct);
            }
        }
        finally
        {
            await stopWorker.CancelAsync();
            try { await workerTask.WaitAsync(TimeSpan.FromSeconds(10), CancellationToken.None); }
            catch (Exception) { /* stopping: cancellation or a failure already reported */ }
        }
        Say("stopped the worker, the shop and the server");
        return HindsightCli.Ok;
    }

    /// <summary>Waits until the worker has stored everything committed so far (a marker in the WAL), or fails fast if it died.</summary>
    private static async Task WaitUntilStoredAsync(NpgsqlDataSource database, string slot, Task worker, TimeSpan timeout, CancellationToken ct)
    {
        var wait = CatchUp.WaitAsync(database, database, slot, timeout, ct);
        if (await Task.WhenAny(wait, worker) == worker && worker.IsFaulted) throw new TimeoutException();
        await wait;
    }

    private sealed record TrailRow(DateTime CommittedAt, string Schema, string Table, string? Key, string Operation,
        string Before, string After, string Context);

    private static async Task PrintTrailAsync(NpgsqlDataSource app, TextWriter output, string format, CancellationToken ct)
    {
        if (format == "json")
        {
            // Change objects whose fields are the store's column names (design §5).
            await using var cmd = app.CreateCommand(
                "SELECT coalesce(jsonb_agg(to_jsonb(c) ORDER BY c.commit_lsn, c.ordinal), '[]')::text FROM hindsight.changes c WHERE database = $1");
            cmd.Parameters.AddWithValue(Database);
            var json = (string)(await cmd.ExecuteScalarAsync(ct))!;
            await output.WriteLineAsync(JsonNode.Parse(json)!.ToJsonString(HindsightCli.Json));
            return;
        }

        var rows = new List<TrailRow>();
        await using (var cmd = app.CreateCommand(
            """
            SELECT committed_at, schema, "table", primary_key, operation, before::text, after::text, context::text
            FROM hindsight.changes WHERE database = $1 ORDER BY commit_lsn, ordinal
            """))
        {
            cmd.Parameters.AddWithValue(Database);
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
                rows.Add(new TrailRow(reader.GetDateTime(0), reader.GetString(1), reader.GetString(2),
                    reader.IsDBNull(3) ? null : reader.GetString(3), reader.GetString(4),
                    reader.GetString(5), reader.GetString(6), reader.GetString(7)));
        }

        // Show columns in table order (jsonb sorts object keys by length).
        var columnOrder = new Dictionary<(string, string), int>();
        await using (var cmd = app.CreateCommand(
            """
            SELECT c.relname::text, a.attname::text, a.attnum FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
            WHERE c.relnamespace = 'public'::regnamespace AND a.attnum > 0 AND NOT a.attisdropped
            """))
        {
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct)) columnOrder[(reader.GetString(0), reader.GetString(1))] = reader.GetInt16(2);
        }

        string[] header = ["time (UTC)", "table", "key", "operation", "change", "who", "via"];
        var cells = rows.Select(row =>
        {
            var ctx = JsonNode.Parse(row.Context) as JsonObject;
            return new[]
            {
                row.CommittedAt.ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture),
                row.Schema == "public" ? row.Table : row.Schema + "." + row.Table,
                row.Key ?? "-",
                row.Operation,
                Summarize(row.Operation, row.Before, row.After, c => columnOrder.GetValueOrDefault((row.Table, c), int.MaxValue)),
                ctx?["userId"]?.ToString() ?? "-",
                ctx?["route"] is { } route ? $"{ctx["method"]} {route}" : ctx?["job"] is { } job ? $"job {job}" : "-",
            };
        }).ToList();

        if (format == "csv")
        {
            var sb = new StringBuilder(Csv.Line(header));
            foreach (var c in cells) sb.Append(Csv.Line(c));
            await output.WriteAsync(sb.ToString());
            return;
        }
        await output.WriteLineAsync();
        await output.WriteAsync(TextTable.Aligned(header, cells));
    }

    /// <summary>What changed, in a few words: the new row, the changed columns (one level into JSON objects), or the removed row.</summary>
    internal static string Summarize(string operation, string before, string after, Func<string, int>? columnOrder = null)
    {
        var order = columnOrder ?? (_ => 0);
        var b = JsonNode.Parse(before) as JsonObject ?? [];
        var a = JsonNode.Parse(after) as JsonObject ?? [];
        IEnumerable<KeyValuePair<string, JsonNode?>> Ordered(JsonObject o) => o.OrderBy(kv => order(kv.Key));
        string text;
        switch (operation)
        {
            case "CREATE" or "SNAPSHOT":
                text = string.Join(", ", Ordered(a).Select(kv => $"{kv.Key}={ChangeOutput.Show(kv.Value)}"));
                break;
            case "DELETE":
                text = "removed: " + string.Join(", ", Ordered(b).Select(kv => $"{kv.Key}={ChangeOutput.Show(kv.Value)}"));
                break;
            case "UPDATE":
                var changed = new List<string>();
                foreach (var (key, value) in Ordered(a))
                {
                    if (!b.ContainsKey(key)) { changed.Add($"{key} → {ChangeOutput.Show(value)}"); continue; }
                    var old = b[key];
                    if (JsonNode.DeepEquals(old, value)) continue;
                    if (old is JsonObject oldObj && value is JsonObject newObj)
                    {
                        foreach (var sub in oldObj.Select(kv => kv.Key).Union(newObj.Select(kv => kv.Key)))
                        {
                            var had = oldObj.TryGetPropertyValue(sub, out var o);
                            var has = newObj.TryGetPropertyValue(sub, out var n);
                            if (had && has && JsonNode.DeepEquals(o, n)) continue;
                            changed.Add($"{key}.{sub}: {(had ? ChangeOutput.Show(o) : "(none)")} → {(has ? ChangeOutput.Show(n) : "(none)")}");
                        }
                    }
                    else changed.Add($"{key}: {ChangeOutput.Show(old)} → {ChangeOutput.Show(value)}");
                }
                text = changed.Count == 0 ? "(no column changed)" : string.Join("; ", changed);
                break;
            case "TRUNCATE":
                text = "all rows removed";
                break;
            default:
                text = "";
                break;
        }
        const int max = 72;
        return text.Length <= max ? text : text[..(max - 1)] + "…";
    }

}
