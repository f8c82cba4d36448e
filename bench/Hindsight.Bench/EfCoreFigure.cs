using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace Hindsight.Bench;

/// <summary>BenchmarkDotNet: what UseHindsight() adds to EF Core SaveChanges, see <see cref="EfCoreBenchmarks"/>.</summary>
internal static class EfCoreFigure
{
    public static int Run(string[] args)
    {
        // 3 warmups + 15 measured iterations (BenchmarkDotNet's pilot picks the invocations per iteration, ~0.5 s each):
        // ShortRun's 3 iterations cannot tell 3% apart on a shared 2-core machine, the default job's up to 100 take
        // far too long for 10 cases. 15 gives a usable confidence interval in about 4 minutes.
        // In-process like `micro`: the bench also builds and publishes the worker, so an out-of-process
        // BenchmarkDotNet project build would be slow, and the private PostgreSQL server lives in this process.
        var config = ManualConfig.Create(DefaultConfig.Instance)
            .AddJob(Job.Default.WithWarmupCount(3).WithIterationCount(15).WithToolchain(InProcessEmitToolchain.Instance))
            .AddLogicalGroupRules(BenchmarkLogicalGroupRule.ByCategory, BenchmarkLogicalGroupRule.ByParams)
            .WithOptions(ConfigOptions.DisableOptimizationsValidator)
            .WithArtifactsPath(Path.Combine(Path.GetTempPath(), "hindsight-bench-artifacts"))
            .AddDiagnoser(BenchmarkDotNet.Diagnosers.MemoryDiagnoser.Default);
        var started = DateTime.UtcNow;
        Console.WriteLine($"Hindsight benchmark 'efcore', {started:yyyy-MM-dd HH:mm} UTC (load average at start: {Proc.LoadAverage()})");
        try
        {
            var summaries = BenchmarkSwitcher.FromTypes([typeof(EfCoreBenchmarks)]).Run(args.Length == 0 ? ["--filter", "*"] : args, config);
            AddToScorecard(summaries.SelectMany(s => s.Reports));
        }
        finally { EfCoreBenchmarks.Server?.Dispose(); }
        Console.WriteLine($"total time {(DateTime.UtcNow - started).TotalMinutes:0.0} min; load average at the end: {Proc.LoadAverage()}");
        return 0;
    }

    /// <summary>SaveChanges with UseHindsight() and a context scope against plain UseNpgsql, ratio of means per case:
    /// at most 1.10 for one row, 1.03 for 100.</summary>
    private static void AddToScorecard(IEnumerable<BenchmarkDotNet.Reports.BenchmarkReport> reports)
    {
        var means = reports.Where(r => r.ResultStatistics is not null).ToDictionary(
            r => (r.BenchmarkCase.Descriptor.WorkloadMethod.Name, Rows: Convert.ToInt32(r.BenchmarkCase.Parameters["Rows"], System.Globalization.CultureInfo.InvariantCulture)),
            r => r.ResultStatistics!.Mean);
        foreach (var op in new[] { "Insert", "Update" })
            foreach (var rows in new[] { 1, 100 })
            {
                if (!means.TryGetValue(($"{op}_Plain", rows), out var plain) || !means.TryGetValue(($"{op}_Hindsight_Context", rows), out var hs)) continue;
                var target = rows == 1 ? 1.10 : 1.03;
                // The cases run one after the other on the same table, which biases the later ones; UseHindsight() without a
                // scope sends plain EF Core's SQL and shows that bias.
                var neighbour = means.TryGetValue(($"{op}_Hindsight_NoScope", rows), out var noScope)
                    ? FormattableString.Invariant($"; {hs / noScope:0.00} against UseHindsight() without a scope") : "";
                Scorecard.Add($"efcore: {op.ToLowerInvariant()} of {rows} row{(rows == 1 ? "" : "s")}, UseHindsight() with a context scope / plain",
                    FormattableString.Invariant($"{hs / plain:0.00}{neighbour}"), FormattableString.Invariant($"<= {target:0.00}"), hs / plain <= target);
            }
    }
}
