using System.Globalization;
using Hindsight.Revert;
using Spectre.Console;

namespace Hindsight.Cli;

/// <summary>
/// The progress of applying a revert or rollback, on stderr: a live bar on a terminal; otherwise plain lines, at most
/// every <see cref="CopyProgress.LineInterval"/> and at the end of each phase, and only once the work has taken a
/// second (a small revert says nothing more than its result).
/// </summary>
internal sealed class RevertProgressDisplay(CliEnvironment env, string what) : IProgress<RevertProgress>
{
    private static readonly TimeSpan Quiet = TimeSpan.FromSeconds(1);
    private readonly TerminalBar _terminal = new(env);
    private TimeSpan? _lastLine;

    /// <summary>Runs <paramref name="work"/> with the live bar shown on a terminal, or as is.</summary>
    public Task<T> ShowWhileAsync<T>(Func<CancellationToken, Task<T>> work, CancellationToken ct) => _terminal.ShowWhileAsync(what, work, ct);

    /// <summary>Shows one report, synchronously and in order.</summary>
    public void Report(RevertProgress value)
    {
        if (_terminal.Bar is { } bar)
        {
            bar.Description = string.Create(CultureInfo.InvariantCulture, $"{Markup.Escape(what)}: {value.Phase} {value.Done:N0}/{value.Total:N0}");
            bar.IsIndeterminate = false;
            bar.MaxValue = Math.Max(1, value.Total);
            bar.Value = value.Done;
            return;
        }
        var end = value.Done == value.Total;
        if (value.Elapsed < Quiet && !(end && _lastLine is not null)) return;
        if (!end && _lastLine is { } last && value.Elapsed - last < CopyProgress.LineInterval) return;
        _lastLine = value.Elapsed;
        env.Error.WriteLine(Line(what, value));
    }

    /// <summary>"revert: applying 12,000 of 40,000 statements, 3,100/s, about 9 s left".</summary>
    public static string Line(string what, RevertProgress p)
    {
        var unit = p.Phase == RevertProgress.Checking ? "rows" : "statements";
        var left = p.Done < p.Total && p.Remaining is { } r ? $", about {Math.Ceiling(r.TotalSeconds).ToString("N0", CultureInfo.InvariantCulture)} s left" : "";
        return string.Create(CultureInfo.InvariantCulture, $"{what}: {p.Phase} {p.Done:N0} of {p.Total:N0} {unit}, {p.PerSecond:N0}/s{left}");
    }
}
