using Spectre.Console;

namespace Hindsight.Cli;

/// <summary>
/// A live progress bar (Spectre.Console: description, bar, percentage, time left) on stderr while some work runs, when
/// stderr and stdout are a terminal. Elsewhere (a log, a pipe, CI) there is no bar, and the caller writes plain lines.
/// </summary>
internal sealed class TerminalBar(CliEnvironment env)
{
    private readonly bool _terminal = env.HandleSignals && !Console.IsErrorRedirected && !Console.IsOutputRedirected;

    /// <summary>The bar while the work runs on a terminal; null otherwise.</summary>
    public ProgressTask? Bar { get; private set; }

    /// <summary>Runs <paramref name="work"/> with the bar shown on a terminal (indeterminate until a total is set), or as is.</summary>
    public async Task<T> ShowWhileAsync<T>(string name, Func<CancellationToken, Task<T>> work, CancellationToken ct)
    {
        if (!_terminal) return await work(ct).ConfigureAwait(false);
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        try
        {
            return await console.Progress().AutoClear(true)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
                .StartAsync(async context =>
                {
                    Bar = context.AddTask(name, autoStart: true, maxValue: 1);
                    Bar.IsIndeterminate = true;
                    return await work(ct).ConfigureAwait(false);
                }).ConfigureAwait(false);
        }
        finally
        {
            Bar = null;
        }
    }
}
