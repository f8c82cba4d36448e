using System.Globalization;
using Hindsight.Setup;
using Spectre.Console;

namespace Hindsight.Cli;

/// <summary>
/// The progress of <c>setup --snapshot</c> on stderr: a live bar (rows, rows/s, time left) on a terminal, and plain lines
/// at most every <see cref="LineInterval"/> and at the end of each table otherwise (a log, a pipe, CI), so that what is
/// captured stays readable.
/// </summary>
internal sealed class CopyProgress(CliEnvironment env) : IProgress<BaselineProgress>
{
    /// <summary>The least time between two plain progress lines.</summary>
    public static readonly TimeSpan LineInterval = TimeSpan.FromSeconds(2);

    private readonly TerminalBar _terminal = new(env);
    private TimeSpan? _lastLine;

    /// <summary>Runs <paramref name="work"/> with the live bar shown on a terminal, or as is.</summary>
    public Task<T> ShowWhileAsync<T>(Func<CancellationToken, Task<T>> work, CancellationToken ct) => _terminal.ShowWhileAsync("snapshot", work, ct);

    /// <summary>Shows one report: synchronously, in order (a Progress&lt;T&gt; would post them to the thread pool).</summary>
    public void Report(BaselineProgress value)
    {
        if (_terminal.Bar is { } bar)
        {
            bar.Description = $"snapshot {Markup.Escape(value.Table)} ({value.TableIndex}/{value.Tables}), {value.Rows:N0} rows, {value.RowsPerSecond:N0}/s";
            if (value.EstimatedRows is > 0 and var total)
            {
                bar.IsIndeterminate = false;
                bar.MaxValue = Math.Max(total, value.Rows);
                bar.Value = value.Rows;
            }
            return;
        }
        if (!value.TableCopied && _lastLine is { } last && value.Elapsed - last < LineInterval) return;
        _lastLine = value.Elapsed;
        env.Error.WriteLine(Line(value));
    }

    /// <summary>"snapshot: public.orders (2/5), 120,000 of about 1,000,000 rows, 45,000 rows/s, about 19 s left".</summary>
    public static string Line(BaselineProgress p)
    {
        var of = p.EstimatedRows is { } total ? $" of about {total.ToString("N0", CultureInfo.InvariantCulture)}" : "";
        var left = p.Remaining is { } r ? $", about {Math.Ceiling(r.TotalSeconds).ToString("N0", CultureInfo.InvariantCulture)} s left" : "";
        var done = p.TableCopied ? ", table copied" : "";
        return string.Create(CultureInfo.InvariantCulture,
            $"snapshot: {p.Table} ({p.TableIndex}/{p.Tables}){done}, {p.Rows:N0}{of} rows, {p.RowsPerSecond:N0} rows/s{left}");
    }
}
