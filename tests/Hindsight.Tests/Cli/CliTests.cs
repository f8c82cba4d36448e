using Hindsight.Cli;
using Hindsight.Tests.Infrastructure;
using Hindsight.Tests.Setup;
using Npgsql;
using Xunit;
using static Hindsight.Tests.Setup.SetupTestDatabases;

namespace Hindsight.Tests.Cli;

[Collection(PostgresCollection.Name)]
[Trait("Category", "PostgreSQL")]
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
}
