using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Hindsight.Bench;

/// <summary>pgbench from the server's bin directory: the built-in tpcb-like script (3 UPDATEs, 1 SELECT, 1 INSERT per transaction).</summary>
internal static partial class Pgbench
{
    public const int ChangesPerTransaction = 4; // UPDATE accounts, tellers, branches; INSERT history

    public static Task InitAsync(BenchServer server, string db, int scale) =>
        RunToolAsync(server, ["-i", "-s", scale.ToString(CultureInfo.InvariantCulture), "-q", server.Server.Url(db)]);

    /// <summary>Runs tpcb-like for <paramref name="seconds"/> without its own VACUUM (-n); returns tps (without the
    /// initial connection time, as pgbench reports it) and the transactions it processed.</summary>
    /// <param name="cpu">The core to run pgbench on (<c>cost --split-cpus</c>), or null for any.</param>
    public static async Task<(double Tps, long Transactions)> RunAsync(BenchServer server, string db, int seconds, int clients, int threads,
        int? cpu = null)
    {
        var output = await RunToolAsync(server,
        [
            "-n", "-b", "tpcb-like", "-M", "prepared", "-c", clients.ToString(CultureInfo.InvariantCulture),
            "-j", threads.ToString(CultureInfo.InvariantCulture), "-T", seconds.ToString(CultureInfo.InvariantCulture), server.Server.Url(db),
        ], cpu);
        var tps = TpsLine().Match(output);
        var tx = TransactionsLine().Match(output);
        if (!tps.Success || !tx.Success) throw new InvalidOperationException("unexpected pgbench output:\n" + output);
        return (double.Parse(tps.Groups[1].Value, CultureInfo.InvariantCulture), long.Parse(tx.Groups[1].Value, CultureInfo.InvariantCulture));
    }

    private static async Task<string> RunToolAsync(BenchServer server, string[] args, int? cpu = null)
    {
        using var p = Process.Start(server.Server.StartInfoFor("pgbench", args).OnCpu(cpu)) ?? throw new InvalidOperationException("could not start pgbench");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        var text = await stdout + await stderr;
        if (p.ExitCode != 0) throw new InvalidOperationException($"pgbench {string.Join(' ', args)} exited with {p.ExitCode}:\n{text}");
        return text;
    }

    [GeneratedRegex(@"tps = ([0-9.]+) \(without initial connection time\)")]
    private static partial Regex TpsLine();

    [GeneratedRegex(@"number of transactions actually processed: ([0-9]+)")]
    private static partial Regex TransactionsLine();
}
