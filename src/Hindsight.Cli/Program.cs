namespace Hindsight.Cli;

/// <summary>Entry point of the <c>hindsight</c> command.</summary>
internal static class Program
{
    private static Task<int> Main(string[] args) => HindsightCli.RunAsync(args, CliEnvironment.Console());
}
