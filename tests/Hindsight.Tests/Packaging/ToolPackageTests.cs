using System.Diagnostics;
using System.Reflection;
using System.Text.RegularExpressions;
using Hindsight.Tests.Infrastructure;
using Npgsql;
using Xunit;
using Xunit.Abstractions;

namespace Hindsight.Tests.Packaging;

/// <summary>
/// The CLI as users install it: the packed .NET tool, installed with <c>dotnet tool install</c> into a temporary tool
/// path, then run against a private server. The package is the one <c>.ci/run</c> packs (<c>HINDSIGHT_PACKAGES</c>);
/// without it, the test packs the CLI project itself.
/// </summary>
[Collection(PostgresCollection.Name)]
[Trait("Category", "PostgreSQL")]
public sealed partial class ToolPackageTests(PostgresFixture fixture, ITestOutputHelper output) : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("hindsight-tool-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    [Fact]
    public async Task The_packed_tool_installs_and_captures_changes_that_PostgreSQL_counted()
    {
        var packages = Environment.GetEnvironmentVariable("HINDSIGHT_PACKAGES") is { Length: > 0 } given ? given : await PackAsync();
        var nupkg = Directory.GetFiles(packages, "Hindsight.Cli.*.nupkg").Single();
        var version = Path.GetFileNameWithoutExtension(nupkg)["Hindsight.Cli.".Length..];
        var tools = Path.Combine(_temp, "tools");
        var install = await RunAsync(Dotnet, "tool", "install", "Hindsight.Cli", "--version", version, "--tool-path", tools, "--add-source", packages);
        Assert.True(install.Code == 0, install.Text);
        var hindsight = Path.Combine(tools, "hindsight");

        // The version printed is the package's, with the commit it was built from.
        var printed = await RunAsync(hindsight, "--version");
        Assert.True(printed.Code == 0, printed.Text);
        Assert.Matches(VersionLine(), printed.Text.Trim());
        Assert.StartsWith(version + "+", printed.Text.Trim(), StringComparison.Ordinal);

        var source = await fixture.CreateDatabaseAsync("tool");
        await using var db = NpgsqlDataSource.Create(source);
        await db.CreateCommand("CREATE TABLE notes (id int PRIMARY KEY, body text NOT NULL, tags jsonb)").ExecuteNonQueryAsync();
        var setup = await RunAsync(hindsight, "--source", source, "setup");
        Assert.True(setup.Code == 0, setup.Text);

        using var worker = WorkerProcess.Start(["--source", source], psi => Tool(psi, hindsight));
        await db.CreateCommand(
            "INSERT INTO notes SELECT g, 'note ' || g, jsonb_build_object('n', g) FROM generate_series(1, 40) g;" +
            "UPDATE notes SET body = body || ' (edited)' WHERE id % 3 = 0;" +
            "DELETE FROM notes WHERE id % 10 = 0;" +
            "INSERT INTO notes VALUES (100, 'last', NULL);").ExecuteNonQueryAsync();
        // PostgreSQL's own counts of the rows those statements inserted, updated and deleted, against what the tool stored.
        const string Counted = "SELECT array[n_tup_ins, n_tup_upd, n_tup_del] FROM pg_stat_user_tables WHERE relname = 'notes'";
        const string Stored = "SELECT array[count(*) FILTER (WHERE operation = 'CREATE'), count(*) FILTER (WHERE operation = 'UPDATE'), " +
                              "count(*) FILTER (WHERE operation = 'DELETE')] FROM hindsight.changes WHERE \"table\" = 'notes'";
        long[] counted = [], stored = [];
        for (var waited = Stopwatch.StartNew(); waited.Elapsed < TimeSpan.FromSeconds(60) && !worker.HasExited; await Task.Delay(200))
        {
            counted = (long[])(await db.CreateCommand(Counted).ExecuteScalarAsync())!;
            stored = (long[])(await db.CreateCommand(Stored).ExecuteScalarAsync())!;
            if (counted.Sum() > 0 && counted.SequenceEqual(stored)) break;
        }
        output.WriteLine($"PostgreSQL counted {string.Join('/', counted)} rows inserted/updated/deleted; the tool stored {string.Join('/', stored)}");
        Assert.True(counted.Sum() > 0 && counted.SequenceEqual(stored), worker.Output);
        // Every live row's newest stored image is PostgreSQL's own rendering of it.
        Assert.Equal(0L, (long)(await db.CreateCommand(
            "SELECT count(*) FROM notes n WHERE to_jsonb(n) IS DISTINCT FROM (SELECT c.after FROM hindsight.changes c " +
            "WHERE c.\"table\" = 'notes' AND c.primary_key = n.id::text ORDER BY c.commit_lsn DESC, c.ordinal DESC LIMIT 1)").ExecuteScalarAsync())!);

        var status = await RunAsync(hindsight, "--source", source, "status");
        Assert.True(status.Code == 0, status.Text);
        Assert.Contains("hindsight", status.Text, StringComparison.Ordinal); // the slot's name
        Assert.Equal(0, worker.Terminate(TimeSpan.FromSeconds(20)));
        // The log's first line says which build is running.
        Assert.Contains($"hindsight {version}+", worker.Output.Split('\n')[0], StringComparison.Ordinal);
    }

    [GeneratedRegex(@"^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?\+[0-9a-f]{40}$")]
    private static partial Regex VersionLine();

    private static string Dotnet => WorkerProcess.DotnetHost();

    /// <summary>The installed tool's shim instead of <c>dotnet hindsight.dll</c>; it finds the runtime through DOTNET_ROOT.</summary>
    private static ProcessStartInfo Tool(ProcessStartInfo psi, string hindsight)
    {
        var tool = new ProcessStartInfo(hindsight) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in psi.ArgumentList.Skip(1)) tool.ArgumentList.Add(a); // without hindsight.dll
        tool.Environment["DOTNET_ROOT"] = Path.GetDirectoryName(Dotnet);
        return tool;
    }

    private async Task<string> PackAsync()
    {
        var project = typeof(ToolPackageTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(a => a.Key == "HindsightCliProject").Value!;
        var packages = Path.Combine(_temp, "packages");
        var pack = await RunAsync(Dotnet, "pack", project, "-c", "Release", "-o", packages, "--nologo");
        Assert.True(pack.Code == 0, pack.Text);
        return packages;
    }

    /// <summary>Runs a program with DOTNET_ROOT set, so the installed tool's shim finds the runtime.</summary>
    private Task<(int Code, string Text)> RunAsync(string file, params string[] args) =>
        ChildProcess.RunAsync(output, file, args, ("DOTNET_ROOT", Path.GetDirectoryName(Dotnet)!));
}
