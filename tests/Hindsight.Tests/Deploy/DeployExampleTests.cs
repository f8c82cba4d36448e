using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;
using Hindsight.Cli;
using Xunit;

namespace Hindsight.Tests.Deploy;

/// <summary>
/// The examples in <c>deploy/</c> run the real command line: every hindsight invocation in them parses with the CLI's
/// own parser, and the probes they point at are the ones <c>run --metrics-urls</c> serves. Nothing here starts systemd,
/// Docker or Kubernetes (the machine has none); an option renamed in the CLI fails this test instead of a deployment.
/// </summary>
[Trait("Category", "Fast")]
public sealed partial class DeployExampleTests
{
    private static string Deploy => Path.Combine(Path.GetDirectoryName(typeof(DeployExampleTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "HindsightCliProject").Value!)!, "..", "..", "deploy");

    public static TheoryData<string, string> Invocations()
    {
        var data = new TheoryData<string, string>();
        var unit = File.ReadAllText(Path.Combine(Deploy, "systemd", "hindsight.service"));
        foreach (Match m in ExecStart().Matches(unit)) data.Add("systemd", m.Groups[1].Value);
        foreach (var file in new[] { Path.Combine("compose", "compose.yaml"), Path.Combine("kubernetes", "hindsight.yaml") })
            foreach (Match m in FlowArgs().Matches(File.ReadAllText(Path.Combine(Deploy, file))))
            {
                var args = JsonSerializer.Deserialize<string[]>(m.Groups[1].Value)!;
                if (args.Length > 0 && args[0] == "dotnet") args = args[2..]; // dotnet hindsight.dll …
                if (args.Length > 0 && args[0] is "run" or "serve" or "setup") data.Add(file, string.Join('\u001f', args));
            }
        return data;
    }

    [Theory]
    [MemberData(nameof(Invocations))]
    public void Every_hindsight_command_line_in_the_examples_parses(string where, string commandLine)
    {
        var args = commandLine.Contains('\u001f', StringComparison.Ordinal) ? commandLine.Split('\u001f') : commandLine.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Empty(HindsightCli.ParseErrors(args).Select(e => $"{where}: {e}"));
    }

    [Fact]
    public void The_examples_cover_run_serve_and_setup_and_probe_the_served_paths()
    {
        var commands = Invocations().Select(row => ((string)row[1]).Split('\u001f', ' ')[0]).ToHashSet();
        Assert.Superset(new HashSet<string> { "run", "serve", "setup" }, commands);
        Assert.NotEmpty(HindsightCli.ParseErrors(["run", "--standbye"])); // the parser does refuse what it does not know
        var kubernetes = File.ReadAllText(Path.Combine(Deploy, "kubernetes", "hindsight.yaml"));
        Assert.Contains("path: /healthz", kubernetes, StringComparison.Ordinal);
        Assert.Contains("path: /readyz", kubernetes, StringComparison.Ordinal);
        Assert.Contains("Type=notify", File.ReadAllText(Path.Combine(Deploy, "systemd", "hindsight.service")), StringComparison.Ordinal);
    }

    [GeneratedRegex(@"^ExecStart=\S*hindsight (.+)$", RegexOptions.Multiline)]
    private static partial Regex ExecStart();

    [GeneratedRegex(@"(?:command|args): (\[.*\])")]
    private static partial Regex FlowArgs();
}
