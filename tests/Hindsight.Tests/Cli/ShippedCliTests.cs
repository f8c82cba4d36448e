using System.Reflection;
using System.Text.Json.Nodes;
using Hindsight.Cli;
using Xunit;

namespace Hindsight.Tests.Cli;

/// <summary>
/// What the <c>hindsight</c> executable carries: no demo, hence neither the sample shop nor EF Core, and English
/// resources only. Read from the CLI's own build output (recorded by the test project at build time); no server.
/// </summary>
[Trait("Category", "Fast")]
public sealed class ShippedCliTests
{
    // Assemblies that only the demo (samples/Hindsight.Demo) may bring.
    private static readonly string[] DemoOnly = ["Hindsight.Demo", "Hindsight.Samples.Shop", "Microsoft.EntityFrameworkCore", "Npgsql.EntityFrameworkCore"];

    private static bool IsDemoOnly(string assemblyName) =>
        DemoOnly.Any(p => assemblyName.Equals(p, StringComparison.OrdinalIgnoreCase) ||
                          assemblyName.StartsWith(p + ".", StringComparison.OrdinalIgnoreCase));

    private static string CliDll()
    {
        var path = typeof(ShippedCliTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "HindsightCliDll")?.Value;
        Assert.False(string.IsNullOrEmpty(path), "the test project records the CLI's path at build time (RecordHindsightCliPath)");
        Assert.True(File.Exists(path), $"{path} does not exist");
        return path;
    }

    [Fact]
    public void The_cli_depends_on_neither_the_sample_shop_nor_ef_core()
    {
        var dll = CliDll();
        var deps = JsonNode.Parse(File.ReadAllText(Path.ChangeExtension(dll, ".deps.json")))!;
        var libraries = deps["libraries"]!.AsObject().Select(kv => kv.Key.Split('/')[0]).ToList();
        Assert.Contains("System.CommandLine", libraries); // the file read is the CLI's
        var demoLibraries = libraries.Where(IsDemoOnly).ToList();
        Assert.Empty(demoLibraries);

        var folder = Path.GetDirectoryName(dll)!;
        var assemblies = Directory.EnumerateFiles(folder, "*.dll", SearchOption.AllDirectories)
            .Where(f => IsDemoOnly(Path.GetFileNameWithoutExtension(f))).Select(f => Path.GetRelativePath(folder, f)).ToList();
        Assert.Empty(assemblies);
    }

    [Fact]
    public void The_cli_ships_english_resources_only()
    {
        var folder = Path.GetDirectoryName(CliDll())!;
        var satellites = Directory.EnumerateFiles(folder, "*.resources.dll", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(folder, f)).ToList();
        Assert.Empty(satellites);
    }

    [Fact]
    public async Task Demo_is_not_a_hindsight_command()
    {
        var error = new StringWriter();
        var code = await HindsightCli.RunAsync(["demo", "--no-serve"], CliEnvironment.Captured(new StringWriter(), error));
        Assert.Equal(HindsightCli.Failed, code);
        Assert.Contains("'demo'", error.ToString(), StringComparison.Ordinal);

        var help = new StringWriter();
        await HindsightCli.RunAsync(["--help"], CliEnvironment.Captured(help, new StringWriter()));
        Assert.DoesNotContain("hindsight demo", help.ToString(), StringComparison.Ordinal);
        Assert.Contains("dotnet run --project samples/Hindsight.Demo", help.ToString(), StringComparison.Ordinal);
    }
}
