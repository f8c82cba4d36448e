using System.Text.Json;
using Hindsight.Cli;
using Hindsight.Tests.Infrastructure;
using Xunit;

namespace Hindsight.Tests.Query;

/// <summary><c>hindsight changes</c>, <c>history</c> and <c>as-of</c> from the shell: formats, exit codes, bad input.</summary>
[Collection(PostgresCollection.Name)]
[Trait("Category", "PostgreSQL")]
public sealed class QueryCliTests(PostgresFixture fixture)
{
    private sealed record Result(int ExitCode, string Out, string Err);

    private static async Task<Result> RunAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var code = await HindsightCli.RunAsync(args, CliEnvironment.Captured(output, error));
        return new Result(code, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task Queries_read_the_source_of_the_given_database_unless_another_source_or_every_one_is_named()
    {
        await using var h = await CaptureHarness.CreateAsync(fixture, "CREATE TABLE orders (id int PRIMARY KEY, status text)");
        h.StartWorker();
        await h.ExecuteAsync("INSERT INTO orders VALUES (1, 'here')");
        await h.CatchUpAsync();
        // Another server's database of the same name, in the same store.
        await h.ExecuteAsync(
            """
            INSERT INTO hindsight.changes (source, database, schema, "table", primary_key, operation, after, committed_at, transaction_id,
                                           position, commit_lsn, ordinal, queued_at)
            VALUES ('elsewhere', current_database(), 'public', 'orders', '1', 'CREATE', '{"id": 1, "status": "there"}', now(), 1, 1, 1, 1, now())
            """);
        var src = h.ConnectionString;
        var db = await h.ScalarAsync<string>("SELECT current_database()");

        var own = await RunAsync("changes", "--source", src, "--table", "orders");
        Assert.Equal(0, own.ExitCode);
        Assert.Contains("here", own.Out);
        Assert.DoesNotContain("there", own.Out);
        Assert.DoesNotContain("source", own.Out.Split('\n')[0]);

        var every = await RunAsync("changes", "--source", src, "--source-name", "*", "--table", "orders");
        Assert.Equal(0, every.ExitCode);
        Assert.Contains("source", every.Out.Split('\n')[0]);
        Assert.Contains("elsewhere", every.Out);
        Assert.Contains(db, every.Out);

        var other = await RunAsync("history", "--source", src, "--source-name", "elsewhere", "--table", "orders", "--key", "1", "--format", "json");
        Assert.Equal(0, other.ExitCode);
        using (var doc = JsonDocument.Parse(other.Out))
            Assert.Equal("there", doc.RootElement.EnumerateArray().Single().GetProperty("after").GetProperty("status").GetString());

        // A bare table name found in two sources is ambiguous when every source is read, and says which.
        var ambiguous = await RunAsync("history", "--source", src, "--source-name", "*", "--table", "orders", "--key", "1");
        Assert.Equal(1, ambiguous.ExitCode);
        Assert.Contains("source elsewhere", ambiguous.Err);
        Assert.Equal(1, (await RunAsync("changes", "--source", src, "--source-name", "bad name!")).ExitCode);
    }

    [Fact]
    public async Task Changes_history_and_as_of_in_each_format_and_bad_input_exits_1_with_one_line()
    {
        await using var h = await CaptureHarness.CreateAsync(fixture,
            "CREATE TABLE orders (id int PRIMARY KEY, status text, total numeric); CREATE TABLE pairs (a int, b text, v int, PRIMARY KEY (a, b));");
        h.StartWorker();
        await h.ExecuteAsync("BEGIN; SELECT pg_logical_emit_message(true, 'hindsight', '{\"userId\":\"alice\"}'); INSERT INTO orders VALUES (1, 'new', 10.50), (2, 'new, \"quoted\"', 3); COMMIT;");
        await h.ExecuteAsync("BEGIN; SELECT pg_logical_emit_message(true, 'hindsight', '{\"userId\":\"bob\"}'); UPDATE orders SET status = 'paid' WHERE id = 1; COMMIT;");
        await h.ExecuteAsync("INSERT INTO pairs VALUES (1, 'x', 1)");
        await h.CatchUpAsync();
        var middle = (await h.ScalarAsync<DateTime>("SELECT max(committed_at) FROM hindsight.changes WHERE \"table\" = 'orders'")).ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'");
        await h.ExecuteAsync("DELETE FROM orders WHERE id = 2");
        await h.CatchUpAsync();
        var src = h.ConnectionString;

        // changes: table view, JSON with the store's column names, CSV.
        var table = await RunAsync("changes", "--source", src, "--table", "orders");
        Assert.Equal(0, table.ExitCode);
        Assert.Contains("status: new → paid", table.Out);
        Assert.Contains("alice", table.Out);
        var lines = table.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2 + 4, lines.Length);
        Assert.StartsWith("id ", lines[0]);
        Assert.Contains("DELETE", lines[2]); // newest first

        var json = await RunAsync("changes", "--source", src, "--table", "orders", "--context", "{\"userId\":\"bob\"}", "--format", "json");
        Assert.Equal(0, json.ExitCode);
        using (var doc = JsonDocument.Parse(json.Out))
        {
            var change = Assert.Single(doc.RootElement.EnumerateArray());
            Assert.Equal(
                ["id", "source", "database", "schema", "table", "primary_key", "operation", "before", "after", "context", "committed_at",
                 "transaction_id", "position", "commit_lsn", "ordinal", "queued_at", "created_at"],
                change.EnumerateObject().Select(p => p.Name));
            Assert.Equal("UPDATE", change.GetProperty("operation").GetString());
            Assert.Equal("paid", change.GetProperty("after").GetProperty("status").GetString());
            Assert.Equal("1", change.GetProperty("primary_key").GetString());
        }

        var csv = await RunAsync("changes", "--source", src, "--operation", "create", "--limit", "2", "--oldest-first", "--format", "csv");
        Assert.Equal(0, csv.ExitCode);
        Assert.StartsWith("id,database,schema,table,primary_key,operation,before,after,context,committed_at,", csv.Out);
        Assert.Equal(3, csv.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Contains("--cursor", csv.Err); // more pages: said on stderr, stdout stays CSV
        var cursor = csv.Err.Split("--cursor ")[1].Trim();
        var rest = await RunAsync("changes", "--source", src, "--operation", "CREATE", "--oldest-first", "--cursor", cursor, "--format", "json");
        Assert.Equal(1, JsonDocument.Parse(rest.Out).RootElement.GetArrayLength()); // 3 creates in all

        // history
        var history = await RunAsync("history", "--source", src, "--table", "orders", "--key", "1");
        Assert.Equal(0, history.ExitCode);
        Assert.Contains("CREATE", history.Out);
        Assert.Contains("bob", history.Out);
        var historyJson = await RunAsync("history", "--source", src, "--table", "public.pairs", "--key", "[1, \"x\"]", "--format", "json");
        Assert.Equal("[1,\"x\"]", JsonDocument.Parse(historyJson.Out).RootElement[0].GetProperty("primary_key").GetString());
        var historyCsv = await RunAsync("history", "--source", src, "--table", "orders", "--key", "2", "--newest-first", "--format", "csv");
        Assert.Equal(3, historyCsv.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Contains(",DELETE,", historyCsv.Out.Split('\n')[1]);

        // as-of: before the DELETE both orders existed; now one does.
        var asOf = await RunAsync("as-of", "--source", src, "--table", "orders", "--at", middle, "--format", "json");
        Assert.Equal(0, asOf.ExitCode);
        using (var doc = JsonDocument.Parse(asOf.Out))
        {
            Assert.Equal(2, doc.RootElement.GetArrayLength());
            Assert.Equal("paid", doc.RootElement[0].GetProperty("status").GetString());
            Assert.Equal(10.50m, doc.RootElement[0].GetProperty("total").GetDecimal());
        }
        Assert.Contains("complete only for rows changed since tracking began", asOf.Err);
        var asOfTable = await RunAsync("as-of", "--source", src, "--table", "orders", "--at", DateTime.UtcNow.AddMinutes(1).ToString("O"));
        Assert.Equal(0, asOfTable.ExitCode);
        Assert.Contains("paid", asOfTable.Out);
        Assert.DoesNotContain("quoted", asOfTable.Out);
        Assert.Contains("1 rows; complete only", asOfTable.Out);
        var asOfCsv = await RunAsync("as-of", "--source", src, "--table", "orders", "--at", middle, "--key", "2", "--format", "csv");
        Assert.Equal("id,total,status\n2,3,\"new, \"\"quoted\"\"\"\n", asOfCsv.Out);

        // Bad input: exit code 1, one line on stderr, nothing on stdout.
        foreach (var bad in new[]
                 {
                     new[] { "changes", "--source", src, "--since", "yesterday" },
                     ["changes", "--source", src, "--until", "31/01/2025"],
                     ["changes", "--source", src, "--context", "[1,2]"],
                     ["changes", "--source", src, "--context", "not json"],
                     ["changes", "--source", src, "--operation", "MERGE"],
                     ["changes", "--source", src, "--limit", "0"],
                     ["changes", "--source", src, "--limit", "10001"],
                     ["changes", "--source", src, "--table", "\"unclosed"],
                     ["history", "--source", src, "--table", "orders"],
                     ["as-of", "--source", src, "--table", "orders"],
                     ["as-of", "--source", src, "--table", "orders", "--at", "noon"],
                 })
        {
            var r = await RunAsync(bad);
            Assert.True(r.ExitCode == 1, $"{string.Join(' ', bad)}: exit {r.ExitCode}, {r.Err}");
            Assert.Equal("", r.Out);
            var errLines = r.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.True(errLines.Length == 1, $"{string.Join(' ', bad)}: {r.Err}");
            Assert.StartsWith("hindsight: error: ", errLines[0]);
        }
        Assert.Contains("--since: 'yesterday' is not an ISO 8601 time", (await RunAsync("changes", "--source", src, "--since", "yesterday")).Err);
        Assert.Contains("context must be a JSON object", (await RunAsync("changes", "--source", src, "--context", "[1,2]")).Err);
        Assert.Contains("unknown operation 'MERGE'", (await RunAsync("changes", "--source", src, "--operation", "MERGE")).Err);
        Assert.Contains("--limit must be between 1 and 10000", (await RunAsync("changes", "--source", src, "--limit", "0")).Err);
    }

    [Fact]
    public async Task As_of_at_a_transaction_or_an_lsn_and_the_point_options_errors()
    {
        await using var h = await CaptureHarness.CreateAsync(fixture, "CREATE TABLE orders (id int PRIMARY KEY, status text, total numeric);");
        h.StartWorker();
        await h.ExecuteAsync("INSERT INTO orders VALUES (1, 'new', 10.50), (2, 'new', 3)");
        var xid = await h.ScalarAsync<long>("BEGIN; UPDATE orders SET status = 'paid' WHERE id = 1; SELECT txid_current() % 4294967296; COMMIT;");
        await h.ExecuteAsync("DELETE FROM orders WHERE id = 2; UPDATE orders SET status = 'shipped' WHERE id = 1");
        await h.CatchUpAsync();
        var src = h.ConnectionString;
        var commitLsn = (await h.RowsAsync("SELECT commit_lsn FROM hindsight.changes WHERE transaction_id = $1", xid)).Single()[0];
        var lsn = new NpgsqlTypes.NpgsqlLogSequenceNumber(ulong.Parse(commitLsn)).ToString();

        // Right after the UPDATE committed: order 1 paid, order 2 not yet deleted.
        foreach (var point in new[] { new[] { "--transaction", xid.ToString() }, ["--lsn", lsn] })
        {
            var json = await RunAsync(["as-of", "--source", src, "--table", "orders", .. point, "--format", "json"]);
            Assert.Equal(0, json.ExitCode);
            using var doc = JsonDocument.Parse(json.Out);
            Assert.Equal(["paid", "new"], doc.RootElement.EnumerateArray().Select(e => e.GetProperty("status").GetString()));
            Assert.Equal(10.50m, doc.RootElement[0].GetProperty("total").GetDecimal());
            Assert.Contains(point[0] == "--lsn" ? $"as of LSN {lsn} (the newest stored commit at or before it: " : $"as of transaction {xid} (committed ", json.Err);
        }
        var table = await RunAsync("as-of", "--source", src, "--table", "orders", "--transaction", xid.ToString());
        Assert.Equal(0, table.ExitCode);
        Assert.Contains($"orders as of transaction {xid} (committed ", table.Out);
        Assert.Contains("paid", table.Out);
        var csv = await RunAsync("as-of", "--source", src, "--table", "orders", "--lsn", lsn, "--key", "1", "--format", "csv");
        Assert.Equal("id,total,status\n1,10.50,paid\n", csv.Out);

        foreach (var (args, message) in new (string[], string)[]
                 {
                     (["--table", "orders"], "as-of needs a point: --at TIME, --transaction XID or --lsn LSN"),
                     (["--table", "orders", "--at", "2025-01-01", "--lsn", lsn], "--at, --transaction and --lsn are mutually exclusive"),
                     (["--table", "orders", "--transaction", xid.ToString(), "--lsn", lsn], "mutually exclusive"),
                     (["--table", "orders", "--lsn", "16B3748"], "--lsn: '16B3748' is not an LSN (e.g. 0/16B3748)"),
                     (["--table", "orders", "--lsn", "FFFFFFFF/0"], "is not an LSN"),
                     (["--table", "orders", "--transaction", "-1"], "--transaction: -1 is not a transaction id"),
                     (["--table", "orders", "--transaction", "4000000000"], "transaction 4000000000 of source "),
                     (["--table", "orders", "--lsn", "0/1"], "is stored at or before LSN 0/1: tracking began after it"),
                 })
        {
            var r = await RunAsync(["as-of", "--source", src, .. args]);
            Assert.True(r.ExitCode == 1, $"{string.Join(' ', args)}: exit {r.ExitCode}, {r.Err}");
            Assert.Equal("", r.Out);
            var line = Assert.Single(r.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.StartsWith("hindsight: error: ", line);
            Assert.Contains(message, line);
        }
    }
}
