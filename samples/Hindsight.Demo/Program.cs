using Hindsight.Cli;

namespace Hindsight.Demo;

/// <summary>Entry point of the demo: <c>dotnet run --project samples/Hindsight.Demo [-- options]</c>.</summary>
internal static class Program
{
    private static Task<int> Main(string[] args) => DemoCommand.RunAsync(args, CliEnvironment.Console());
}
