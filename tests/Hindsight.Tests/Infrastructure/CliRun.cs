using Hindsight.Cli;
using Xunit.Abstractions;

namespace Hindsight.Tests.Infrastructure;

/// <summary>The hindsight command run in process, with its standard output and error captured (no terminal, no signals).</summary>
public static class CliRun
{
    /// <summary>Runs <paramref name="args"/>; the exit code and what was written.</summary>
    public static Task<(int Code, string Out, string Err)> RunAsync(params string[] args) => RunAsync(null, args);

    /// <summary>Runs <paramref name="args"/>, and writes the command line and its output to <paramref name="output"/> too.</summary>
    public static async Task<(int Code, string Out, string Err)> RunAsync(ITestOutputHelper? output, params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = await HindsightCli.RunAsync(args, CliEnvironment.Captured(stdout, stderr));
        output?.WriteLine($"$ hindsight {string.Join(' ', args)}\n{stdout}{stderr}");
        return (code, stdout.ToString(), stderr.ToString());
    }
}
