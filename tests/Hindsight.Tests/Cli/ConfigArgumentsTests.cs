using Hindsight.Cli;
using Hindsight.Hosting;
using Hindsight.Tests.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Xunit;

namespace Hindsight.Tests.Cli;

/// <summary>
/// Settings from appsettings.json, a --config file and Hindsight__ environment variables, under the command line:
/// which wins, and how a wrong key or value is named. Parsed only: nothing connects.
/// </summary>
[Trait("Category", "Fast")]
public sealed class ConfigArgumentsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hindsight-config-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string File(string name, string json)
    {
        var path = Path.Combine(_dir, name);
        System.IO.File.WriteAllText(path, json);
        return path;
    }

    private CliEnvironment Env(IReadOnlyDictionary<string, string>? variables = null, StringWriter? error = null) =>
        CliEnvironment.Captured(TextWriter.Null, error ?? new StringWriter(), variables) with { SettingsDirectory = _dir };

    private static (string[] Args, string? Error) Apply(string[] args, CliEnvironment env)
    {
        var (result, _, error) = ConfigArguments.Apply(HindsightCli.BuildForTests(env), args, env);
        return (result, error);
    }

    private static string? Value(string[] args, string option) => Array.IndexOf(args, option) is var i and >= 0 ? args[i + 1] : null;

    [Fact]
    public void Layers_apply_in_order_and_the_command_line_wins()
    {
        File("appsettings.json", """{"Hindsight": {"CommitInterval": 3, "Slot": "from-appsettings", "RedactColumns": ["users.password", "*.ssn"]}}""");
        var config = File("prod.json", """{"Hindsight": {"Slot": "from-config", "ReadPause": 4}}""");
        var env = Env(new Dictionary<string, string> { ["Hindsight__ReadPause"] = "6", ["HINDSIGHT__STANDBY"] = "true" });

        var (args, error) = Apply(["run", "--config", config, "--commit-interval", "9"], env);
        Assert.Null(error);
        Assert.DoesNotContain("--config", args);
        Assert.Equal("9", Value(args, "--commit-interval")); // the command line
        Assert.Single(args, "--commit-interval");
        Assert.Equal("from-config", Value(args, "--slot")); // --config over appsettings.json
        Assert.Equal("6", Value(args, "--read-pause")); // the environment over both files
        Assert.Equal("true", Value(args, "--standby"));
        Assert.Equal(["users.password", "*.ssn"], args.Select((a, i) => (a, i)).Where(x => x.a == "--redact-columns").Select(x => args[x.i + 1]));
        Assert.Empty(HindsightCli.ParseErrors(args));
    }

    [Fact]
    public void Several_sources_for_one_run_come_from_configuration_and_the_other_settings_apply_to_all()
    {
        var config = File("sources.json", """
            {"Hindsight": {"CommitInterval": 3, "Sources": [
                {"Source": "postgresql://audit@eu-db/shop", "SourceName": "shop-eu"},
                {"Source": "host=us-db dbname=shop user=audit", "SourceName": "shop-us", "Slot": "hs_us", "Publication": "pub_us"}]}}
            """);
        var env = Env();
        var (args, error) = Apply(["run", "--config", config], env);
        Assert.Null(error);
        Assert.Equal("3", Value(args, "--commit-interval"));
        Assert.Equal(
            [new ConfiguredSource("postgresql://audit@eu-db/shop", "shop-eu", null, null), new ConfiguredSource("host=us-db dbname=shop user=audit", "shop-us", "hs_us", "pub_us")],
            env.ConfiguredSources);
    }

    [Theory]
    [InlineData("""{"Hindsight": {"Sources": [{"Source": "host=a dbname=b", "Store": "host=c"}]}}""", "run", "unknown setting Hindsight:Sources:0:Store (a source takes Source, SourceName, Slot, Publication)")]
    [InlineData("""{"Hindsight": {"Sources": [{"SourceName": "x"}]}}""", "run", "Hindsight:Sources:0 has no Source")]
    [InlineData("""{"Hindsight": {"Sources": [{"Source": "host=a dbname=b", "SourceName": "a.b/c"}]}}""", "run", "Hindsight:Sources:0:SourceName")]
    [InlineData("""{"Hindsight": {"Sources": [{"Source": "postgresql://["}]}}""", "run", "Hindsight:Sources:0:Source")]
    [InlineData("""{"Hindsight": {"Sources": [{"Source": "host=a dbname=b"}]}}""", "status", "lists sources for 'hindsight run'")]
    public void A_wrong_list_of_sources_is_named(string json, string command, string message)
    {
        var config = File("bad.json", json);
        var (_, error) = Apply([command, "--config", config], Env());
        Assert.NotNull(error);
        Assert.Contains(message, error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Two_sources_of_one_name_or_a_source_given_twice_stop_run_before_it_connects()
    {
        var twice = File("twice.json", """{"Hindsight": {"Sources": [{"Source": "host=127.0.0.1 port=1 dbname=a", "SourceName": "shop"}, {"Source": "host=127.0.0.1 port=1 dbname=b", "SourceName": "shop"}]}}""");
        var error = new StringWriter();
        Assert.Equal(1, await HindsightCli.RunAsync(["run", "--config", twice], Env(error: error)));
        Assert.Contains("Hindsight:Sources names source 'shop' 2 times", error.ToString(), StringComparison.Ordinal);

        var one = File("one.json", """{"Hindsight": {"Sources": [{"Source": "host=127.0.0.1 port=1 dbname=a"}]}}""");
        error = new StringWriter();
        Assert.Equal(1, await HindsightCli.RunAsync(["run", "--config", one, "--source", "host=127.0.0.1 port=1 dbname=b"], Env(error: error)));
        Assert.Contains("--source and Hindsight:Sources name the sources twice", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void An_app_s_section_for_the_hosted_worker_serves_run_too()
    {
        // As HindsightCaptureOptions binds it: connection strings by their long names, durations as TimeSpans.
        File("appsettings.json", """
            {"Hindsight": {"SourceConnectionString": "Host=db;Database=shop", "StoreConnectionString": "Host=audit;Database=trail",
             "CommitInterval": "00:00:00.010", "ReadPause": "00:00:00.002", "HeartbeatInterval": "00:00:30",
             "StandbyPollInterval": "00:00:00.500", "MaxChangesPerStoreTransaction": 1000, "StreamLargeTransactions": false,
             "MaxLag": "00:05:00", "MaxLagBytes": 1048576, "Standby": true}}
            """);
        var (args, error) = Apply(["run"], Env());
        Assert.Null(error);
        Assert.Equal("Host=db;Database=shop", Value(args, "--source"));
        Assert.Equal("Host=audit;Database=trail", Value(args, "--store"));
        Assert.Equal("10", Value(args, "--commit-interval"));
        Assert.Equal("2", Value(args, "--read-pause"));
        Assert.Equal("30000", Value(args, "--heartbeat-interval"));
        Assert.Equal("500", Value(args, "--standby-poll-interval"));
        Assert.Equal("1000", Value(args, "--max-changes-per-store-transaction"));
        Assert.Equal("true", Value(args, "--no-streaming"));
        Assert.Equal("300", Value(args, "--max-lag-seconds"));
        Assert.Equal("1048576", Value(args, "--max-lag-bytes"));
        Assert.Empty(HindsightCli.ParseErrors(args));

        // The host's own section binds the same file without complaint (no key is the CLI's alone).
        using var host = HostingOptionsTests.Build(new ConfigurationBuilder().AddJsonFile(Path.Combine(_dir, "appsettings.json")).Build()
            .AsEnumerable().ToDictionary(kv => kv.Key, kv => kv.Value));
        var bound = host.Services.GetRequiredService<IOptions<HindsightCaptureOptions>>().Value;
        Assert.Equal(TimeSpan.FromMilliseconds(10), bound.CommitInterval);
        Assert.False(bound.StreamLargeTransactions);

        // The command line's own key wins over the hosted worker's name for the same option; true streams (the default).
        File("appsettings.json", """{"Hindsight": {"SourceConnectionString": "Host=a", "Source": "Host=b", "StreamLargeTransactions": true}}""");
        (args, error) = Apply(["run"], Env());
        Assert.Null(error);
        Assert.Equal(["Host=b"], args.Select((a, i) => (a, i)).Where(x => x.a == "--source").Select(x => args[x.i + 1]));
        Assert.DoesNotContain("--no-streaming", args);
    }

    [Fact]
    public void Settings_of_other_commands_are_left_alone()
    {
        File("appsettings.json", """{"Hindsight": {"Urls": ["http://127.0.0.1:9000"], "CommitInterval": 3}}""");
        var (args, error) = Apply(["status"], Env());
        Assert.Null(error);
        Assert.Equal(["status"], args);
    }

    [Fact]
    public async Task An_unknown_key_and_a_bad_value_stop_the_command_naming_the_key()
    {
        var misspelt = File("a.json", """{"Hindsight": {"CommitIntervall": 3}}""");
        var error = new StringWriter();
        Assert.Equal(1, await HindsightCli.RunAsync(["run", "--config", misspelt], Env(error: error)));
        Assert.Contains("unknown setting Hindsight:CommitIntervall", error.ToString(), StringComparison.Ordinal);

        var bad = File("b.json", """{"Hindsight": {"CommitInterval": "soon", "Source": "postgresql://u:Secret-Pw@db/x"}}""");
        error = new StringWriter();
        Assert.Equal(1, await HindsightCli.RunAsync(["run", "--config", bad], Env(error: error)));
        Assert.Contains("setting Hindsight:CommitInterval:", error.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("Secret-Pw", error.ToString(), StringComparison.Ordinal);

        error = new StringWriter();
        Assert.Equal(1, await HindsightCli.RunAsync(["run", "--config", Path.Combine(_dir, "missing.json")], Env(error: error)));
        Assert.Contains("missing.json does not exist", error.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("run", "--batch-size")]
    [InlineData("run", "--commit-interval")]
    [InlineData("run", "--read-pause")]
    [InlineData("status", "--max-lag-seconds")]
    [InlineData("changes", "--limit")]
    public async Task A_number_option_given_a_word_is_one_error_line_not_a_crash(string command, string option)
    {
        var error = new StringWriter();
        Assert.Equal(1, await HindsightCli.RunAsync([command, "--source", "postgresql://nowhere/x", option, "many"], Env(error: error)));
        var line = Assert.Single(error.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains($"Cannot parse argument 'many' for option '{option}'", line, StringComparison.Ordinal);
    }
}
