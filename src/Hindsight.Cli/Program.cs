namespace Hindsight.Cli;

/// <summary>Entry point of the <c>hindsight</c> command.</summary>
internal static class Program
{
    private const string InlineSocketCompletions = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    private static Task<int> Main(string[] args)
    {
        // The capture worker waits on three sockets and does little per wake-up: running socket continuations on the
        // thread that polled them, instead of handing each one to the thread pool, saves a thread switch per message.
        // Measured at 1,000 one-row transactions a second: 13-20 % less worker CPU, latency unchanged, backlog throughput
        // unchanged (BENCHMARKS-log.md, "Benchmarks, second pass"). Only for `run`, whose process serves nothing else; the
        // runtime reads the variable when the first socket is used, so it is set before anything connects. A value set
        // by the user wins. The shared options may come before the command (`hindsight --source … run`): the command
        // line is parsed to find it, only when a `run` token is there at all (every other command is parsed once).
        if (Environment.GetEnvironmentVariable(InlineSocketCompletions) is null && args.Contains("run") && HindsightCli.CommandName(args) == "run")
            Environment.SetEnvironmentVariable(InlineSocketCompletions, "1");
        return HindsightCli.RunAsync(args, CliEnvironment.Console());
    }
}
