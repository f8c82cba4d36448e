namespace Hindsight.Cli;

/// <summary>Entry point of the <c>hindsight</c> command.</summary>
internal static class Program
{
    private static Task<int> Main(string[] args)
    {
        // run used to set DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1 (13-20 % less worker CPU at 1,000 small
        // transactions a second, BENCHMARKS-log.md). It is left to the user now: socket continuations then run on the
        // socket engine's thread, and Npgsql's cancel request (sent when a stop cancels a read) is a blocking read that
        // this same thread must serve. A continuation that waits for the cancellation callback (Npgsql disposing its
        // registration as a read completes) deadlocked with it until the cancel socket's timeout: a SIGTERM stop took
        // 15 s at times, more than 30 s once (BENCHMARKS-log.md, "Inline socket completions and graceful stop").
        return HindsightCli.RunAsync(args, CliEnvironment.Console());
    }
}
