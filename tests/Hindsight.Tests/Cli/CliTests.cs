using Hindsight.Cli;
using Hindsight.Tests.Infrastructure;
using Hindsight.Tests.Setup;
using Npgsql;
using Xunit;
using static Hindsight.Tests.Setup.SetupTestDatabases;

namespace Hindsight.Tests.Cli;

[Collection(PostgresCollection.Name)]
public sealed class CliTests(PostgresFixture fixture) : IAsyncLifetime
{
    private readonly SetupTestDatabases _dbs = new(fixture);

    public Task InitializeAsync() => Task.CompletedTask;
    public async Task DisposeAsync() => await _dbs.DisposeAsync();

    private sealed record Result(int ExitCode, string Out, string Err);

    private static async Task<Result> RunAsync(string[] args, Dictionary<string, string>? env = null, CancellationToken ct = default)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var code = await HindsightCli.RunAsync(args, CliEnvironment.Captured(output, error, env), ct);
        return new Result(code, output.ToString(), error.ToString());
    }

    /// <summary>A libpq URL with a password (trust auth ignores it) for the database behind <paramref name="cs"/>.</summary>
    private static string UrlWithPassword(string cs, string password)
    {
        var b = new NpgsqlConnectionStringBuilder(cs);
        return $"postgresql://{b.Username}:{Uri.EscapeDataString(password)}@{b.Host}:{b.Port}/{b.Database}";
    }

    [Fact]
    public async Task Setup_status_teardown_round_trip_with_exit_codes()
    {
        var (cs, slot) = await _dbs.CreateAsync("CREATE TABLE items (id int PRIMARY KEY, name text)");
        const string secret = "Cli-S3cret-pw";
        var url = UrlWithPassword(cs, secret);

        // Before setup: unhealthy (exit 2).
        var before = await RunAsync(["status", "--source", url, "--slot", slot]);
        Assert.Equal(HindsightCli.Unhealthy, before.ExitCode);
        Assert.Contains("does not exist", before.Out);

        var setup = await RunAsync(["setup", "--source", url, "--slot", slot]);
        Assert.Equal(0, setup.ExitCode);
        Assert.Contains("public.items", setup.Out);
        Assert.Equal(["public.items"], await PublicationTablesAsync(cs));

        // The source from the environment, JSON output.
        var status = await RunAsync(["status", "--slot", slot, "--format", "json"], new() { ["HINDSIGHT_SOURCE"] = url });
        Assert.Equal(0, status.ExitCode);
        using (var doc = System.Text.Json.JsonDocument.Parse(status.Out))
        {
            Assert.True(doc.RootElement.GetProperty("healthy").GetBoolean());
            Assert.True(doc.RootElement.GetProperty("slot_exists").GetBoolean());
            Assert.Equal(System.Text.Json.JsonValueKind.Number, doc.RootElement.GetProperty("lag_bytes").ValueKind);
        }

        var csv = await RunAsync(["status", "--source", url, "--slot", slot, "--format", "csv"]);
        Assert.Equal(0, csv.ExitCode);
        Assert.StartsWith("database,slot,", csv.Out);

        var teardown = await RunAsync(["teardown", "--source", url, "--slot", slot, "--purge"]);
        Assert.Equal(0, teardown.ExitCode);
        Assert.Equal(0L, await ScalarAsync<long>(cs, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = $1", slot));
        Assert.Equal(0L, await ScalarAsync<long>(cs, "SELECT count(*) FROM pg_namespace WHERE nspname = 'hindsight'"));

        var after = await RunAsync(["status", "--source", url, "--slot", slot]);
        Assert.Equal(HindsightCli.Unhealthy, after.ExitCode);

        foreach (var r in new[] { before, setup, status, csv, teardown, after })
        {
            Assert.DoesNotContain(secret, r.Out);
            Assert.DoesNotContain(secret, r.Err);
        }
    }

    [Fact]
    public async Task Errors_are_one_line_without_stack_trace_and_without_password()
    {
        const string secret = "Cli-S3cret-pw";
        var unreachable = $"postgresql://someone:{secret}@127.0.0.1:1/nodb";
        var r = await RunAsync(["status", "--source", unreachable]);
        Assert.Equal(HindsightCli.Failed, r.ExitCode);
        var line = Assert.Single(r.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("hindsight: error:", line);
        Assert.DoesNotContain(secret, r.Err + r.Out);
        Assert.DoesNotContain("   at ", r.Err);

        var verbose = await RunAsync(["status", "--source", unreachable, "--verbose"]);
        Assert.Equal(HindsightCli.Failed, verbose.ExitCode);
        Assert.Contains("   at ", verbose.Err); // details on request
        Assert.DoesNotContain(secret, verbose.Err + verbose.Out);
    }

    [Theory]
    [InlineData(new[] { "status" }, "no source database")]
    [InlineData(new[] { "setup", "--source", "hello world" }, "--source: not a connection string")]
    [InlineData(new[] { "setup", "--source", "host=x password=Cli-S3cret-pw bogus" }, "--source:")]
    [InlineData(new[] { "teardown", "--source", "host=x", "--format", "csv" }, "not supported by teardown")]
    public async Task Usage_errors_are_clear(string[] args, string message)
    {
        var r = await RunAsync(args);
        Assert.Equal(HindsightCli.Failed, r.ExitCode);
        Assert.Contains(message, r.Err);
        Assert.DoesNotContain("Cli-S3cret-pw", r.Err);
    }

    [Fact]
    public async Task Setup_errors_name_the_bad_table_and_change_nothing()
    {
        var (cs, slot) = await _dbs.CreateAsync("CREATE TABLE items (id int PRIMARY KEY)");
        var r = await RunAsync(["setup", "--source", cs, "--slot", slot, "--tables", "items,nosuch"]);
        Assert.Equal(HindsightCli.Failed, r.ExitCode);
        Assert.Contains("table nosuch does not exist", r.Err);
        Assert.Equal(0L, await ScalarAsync<long>(cs, "SELECT count(*) FROM pg_publication"));
    }

    [Fact]
    public async Task Column_lists_split_as_table_lists_do_so_a_quoted_name_with_a_comma_stays_whole()
    {
        var (cs, slot) = await _dbs.CreateAsync(
            """
            CREATE TABLE items (id int PRIMARY KEY, "Card, Number" text, note text, name text);
            INSERT INTO items VALUES (1, '4111', 'internal', 'pen');
            """);
        var r = await RunAsync(["setup", "--source", cs, "--slot", slot, "--snapshot", "--ignore-columns", "items.\"Card, Number\",*.note"]);
        Assert.True(r.ExitCode == 0, r.Err);
        var image = await ScalarAsync<string>(cs, "SELECT after::text FROM hindsight.changes WHERE operation = 'SNAPSHOT' AND \"table\" = 'items'");
        Assert.Equal("""{"id": 1, "name": "pen"}""", image);
    }

    [Fact]
    public async Task Parse_errors_exit_non_zero()
    {
        var r = await RunAsync(["status", "--format", "xml"]);
        Assert.Equal(HindsightCli.Failed, r.ExitCode);
        var line = Assert.Single(r.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("'xml' not recognized", line);
        Assert.Contains("hindsight status --help", line);
        var u = await RunAsync(["no-such-command"]);
        Assert.NotEqual(0, u.ExitCode);
        var b = await RunAsync(["run", "--source", "host=x", "--batch-size", "0"]);
        Assert.NotEqual(0, b.ExitCode);
    }

    [Fact]
    public async Task Run_stops_gracefully_with_exit_code_zero()
    {
        var (cs, slot) = await _dbs.CreateAsync("CREATE TABLE items (id int PRIMARY KEY)");
        Assert.Equal(0, (await RunAsync(["setup", "--source", cs, "--slot", slot])).ExitCode);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        var r = await RunAsync(["run", "--source", cs, "--slot", slot, "--batch-size", "100"], ct: stop.Token)
            .WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(0, r.ExitCode);
    }

    [Fact]
    public async Task Demo_drives_the_sample_shop_and_the_trail_says_who_did_each_change_from_which_request()
    {
        var r = await RunAsync(["demo", "--timeout", "60", "--slot", "hs_demo_test", "--format", "json", "--no-serve"]);
        Assert.True(r.ExitCode == 0, r.Err);
        var changes = System.Text.Json.Nodes.JsonNode.Parse(r.Out)!.AsArray().Select(c => c!.AsObject()).ToList();

        // What the demo's script did (DemoShopScript), independently of what was stored: 13 row changes.
        string Who(System.Text.Json.Nodes.JsonObject c) => c["context"]?["userId"]?.GetValue<string>() ?? "-";
        string Route(System.Text.Json.Nodes.JsonObject c) => c["context"]?["route"]?.GetValue<string>() ?? "-";
        var trail = changes.Select(c => $"{c["table"]} {c["primary_key"]} {c["operation"]} {Who(c)} {Route(c)}").ToList();
        Assert.Equal(
        [
            "customers 1 CREATE alice@example.com /customers",
            "customers 2 CREATE bob@example.com /customers",
            "orders 1 CREATE alice@example.com /orders",
            "order_items [1,1] CREATE alice@example.com /orders",
            "order_items [1,2] CREATE alice@example.com /orders",
            "orders 1 UPDATE carol@support.example.com /orders/{id:int}/pay",
            "customers 1 UPDATE carol@support.example.com /orders/{id:int}/pay",
            "order_items [1,1] UPDATE alice@example.com /orders/{id:int}/items/{line:int}",
            "orders 1 UPDATE alice@example.com /orders/{id:int}/items/{line:int}",
            "order_items [1,2] DELETE alice@example.com /orders/{id:int}/items/{line:int}",
            "orders 1 UPDATE alice@example.com /orders/{id:int}/items/{line:int}",
            "orders 1 UPDATE billing-job -",
            "customers 2 UPDATE - -",
        ], trail);
        Assert.Equal("acme", changes[5]["context"]!["tenant"]!.GetValue<string>()); // the app's enrich callback
        Assert.Equal("invoice-paid-orders", changes[11]["context"]!["job"]!.GetValue<string>());
        Assert.Empty(changes[12]["context"]!.AsObject()); // the change made by hand carries no context
        Assert.Equal("paid", changes[5]["after"]!["status"]!.GetValue<string>());
        Assert.Equal("new", changes[5]["before"]!["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task Demo_table_view_shows_users_routes_and_composite_keys()
    {
        var r = await RunAsync(["demo", "--timeout", "60", "--slot", "hs_demo_table", "--no-serve"]);
        Assert.True(r.ExitCode == 0, r.Err);
        Assert.Contains("carol@support.example.com", r.Out);
        Assert.Contains("POST /orders/{id:int}/pay", r.Out);
        Assert.Contains("job invoice-paid-orders", r.Out);
        Assert.Contains("status: new → paid", r.Out);
        Assert.Contains("[1,1]", r.Out);

        // Then history, time travel and a revert, through the query library.
        var history = r.Out[r.Out.IndexOf("history of orders 1", StringComparison.Ordinal)..];
        Assert.Matches(@"UPDATE\s+carol@support\.example\.com\s+status: new → paid", history);
        Assert.Contains("just before carol@support.example.com paid", history);
        Assert.Matches(@"\n1\s+new\s+42\.50\s", history); // the order as it was before the payment
        Assert.Contains("0 conflict(s)", history);
        Assert.Contains("details.invoice: INV-1 → (none)", history); // the revert, captured with its own context
        Assert.Contains("the invoices went out twice", history); // the revert's own context
    }
}
