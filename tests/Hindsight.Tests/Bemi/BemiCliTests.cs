using System.Text.Json;
using Hindsight.Tests.Infrastructure;
using Hindsight.Tests.Setup;
using Xunit;

namespace Hindsight.Tests.Bemi;

/// <summary>hindsight setup --bemi-compat and teardown from the command line: what they print.</summary>
[Collection(PostgresCollection.Name)]
[Trait("Category", "PostgreSQL")]
public sealed class BemiCliTests(PostgresFixture fixture) : IAsyncLifetime
{
    private readonly SetupTestDatabases _dbs = new(fixture);

    public Task InitializeAsync() => Task.CompletedTask;
    public async Task DisposeAsync() => await _dbs.DisposeAsync();

    private static Task<(int Code, string Out, string Err)> RunAsync(params string[] args) => CliRun.RunAsync(args);

    [Fact]
    public async Task Setup_with_bemi_compat_prints_what_it_installed_and_teardown_what_it_removed()
    {
        var (cs, slot) = await _dbs.CreateAsync("CREATE TABLE items (id int PRIMARY KEY, name text)");

        var first = await RunAsync("setup", "--source", cs, "--slot", slot, "--bemi-compat");
        Assert.True(first.Code == 0, first.Err);
        Assert.Contains("bemi compat  functions created; event trigger for new tables created; statement trigger installed now on 1: public.items (1 in all)", first.Out);

        var json = await RunAsync("setup", "--source", cs, "--slot", slot, "--bemi-compat", "--format", "json");
        Assert.True(json.Code == 0, json.Err);
        var bemi = JsonDocument.Parse(json.Out).RootElement.GetProperty("bemi_compat");
        Assert.Equal("unchanged", bemi.GetProperty("functions").GetString());
        Assert.Equal("unchanged", bemi.GetProperty("event_trigger").GetString());
        Assert.Equal(0, bemi.GetProperty("triggers_installed").GetArrayLength());
        Assert.Equal("public.items", bemi.GetProperty("triggers_in_place")[0].GetString());

        var plain = await RunAsync("setup", "--source", cs, "--slot", slot);
        Assert.DoesNotContain("bemi", plain.Out, StringComparison.OrdinalIgnoreCase);

        var teardown = await RunAsync("teardown", "--source", cs, "--slot", slot);
        Assert.True(teardown.Code == 0, teardown.Err);
        Assert.Contains("bemi compat  removed: event trigger, functions and the trigger on 1 table", teardown.Out);
    }
}
