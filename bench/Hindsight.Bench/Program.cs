using System.Globalization;
using Hindsight.Tests.Infrastructure;

namespace Hindsight.Bench;

/// <summary>Options shared by the figures.</summary>
internal sealed class BenchOptions
{
    public int Runs { get; set; } = 3;
    /// <summary>Whether --runs was given (the cost figure defaults to 2 runs to stay a few minutes long).</summary>
    public bool RunsGiven { get; set; }
    public int LatencyRate { get; set; } = 1000;
    public int LatencySeconds { get; set; } = 30;
    public int CostScale { get; set; } = 10;
    public int CostSeconds { get; set; } = 30;
    public int SmallTransactions { get; set; } = 20_000;
    public int LargeRows { get; set; } = 500_000;
    public int MemoryRows { get; set; } = 1_000_000;
    public HashSet<string> Workloads { get; set; } = ["small", "large", "mix"];
    /// <summary>queue: which parts run (capture, latency; ingest runs on what capture queued).</summary>
    public HashSet<string> QueueParts { get; set; } = ["capture", "latency"];
    public string? LogicalDecodingWorkMem { get; set; }
    /// <summary>PostgreSQL's default durability (fsync, full_page_writes, synchronous_commit on): the figures of record.
    /// False: the test servers' settings (all three off), a second column beside them.</summary>
    public bool Durable { get; set; } = true;
    public bool Keep { get; set; }
    public bool StoreServer { get; set; }
    /// <summary>cost: the tracked server and pgbench on one core, worker, store server and pg_recvlogical on the other.</summary>
    public bool SplitCpus { get; set; }
    public string[] WorkerArgs { get; set; } = [];
    public Dictionary<string, string> WorkerEnv { get; set; } = [];
    public string[] Rest { get; set; } = [];
}

internal static class Program
{
    private const string Usage =
        """
        usage: dotnet run -c Release --project bench/Hindsight.Bench -- <figure> [options]

        figures:
          throughput   end-to-end changes/s of the worker vs pg_recvlogical on the same WAL (small and large transactions,
                       and a mix of both; target >= 0.70)
          memory       worker peak RSS capturing one large transaction (attached, and as a backlog)
          profile      where the worker's time goes, each consumer on a slot of its own: pg_recvlogical, in-process decode
                       only, decode + render, the worker; what-ifs: store in another database, GIN pending lists 256MB,
                       no GIN indexes, only PK + unique key
          micro        BenchmarkDotNet micro-benchmarks of the rendering hot path (RowImageWriter, PgValueRenderer)
          efcore       BenchmarkDotNet: EF Core SaveChanges of 1 and 100 rows, plain vs UseHindsight() with and without a
                       context scope; starts its own private PostgreSQL server (~4 min)
          query        record history p50/p99, as-of of a 100,000-row table and a context-filtered page over
                       1,050,000 synthetic changes written by SQL (no capture), with EXPLAIN plan summaries (~3 min)
          latency      commit-to-queryable latency at a steady 1,000 small transactions/s (p50/p90/p99/max, target p99 < 30 ms),
                       with a bare pg_recvlogical's commit-to-received as the floor; runs alternate the order (~4 min)
          cost         pgbench tpcb-like tps with no tracking, a bare pg_recvlogical, Hindsight capturing, and a row-level
                       audit trigger; WAL bytes/transaction; consumer CPU per 100,000 changes (~4.5 min with 2 runs)
          queue        the scale path through a nats-server it starts: capture into JetStream against the direct path on the same
                       WAL (target >= 0.9), the drain rate with 1, 2 and 4 ingesters and their CPU per change, commit-to-queryable
                       p99 through the queue at 1,000 tx/s (target <= 50 ms), peak memory (~8 min)
          partition    capture into a partitioned store against an unpartitioned one on the same workloads, in the same
                       runs (small and large; target >= 0.95), and partitioning a store of 1,000,000 changes (setup --partition)
          store        a store of 20,000,000 changes in 12 monthly partitions, filled by SQL: record history p99, as-of pages of
                       100 rows, pages filtered by context, daily trends over all changes, pruning and dropping a month, bytes
                       per change (~30 min)
          temporal     EF Core's temporal operators (UseHindsightTemporal) over a store of 1,060,001 changes in the queried
                       database: TemporalAsOf of one row p99, of a 100,000-row table, TemporalAll of a row changed 10,000 times
          chain        the tamper-evident chain: capture with the chain against without on the same workloads, alternating
                       (small and large; --runs pairs, default 5; target >= 0.95); verify over a store of 1,000,000 changes
                       chained by the worker's sink (target >= 200,000 changes/s) and where its time goes; inclusion proofs
                       of 200 random changes against a checkpoint (target p99 <= 10 ms) (HINDSIGHT_BENCH_CHAIN_CHANGES: another
                       store size, a quick look)
          all          every figure: throughput, latency, cost, memory and query on one server, then efcore
                       (it starts its own) (~22 min with the defaults)

        options:
          --runs N                 A/B runs per throughput workload and latency figure (default 3; cost: default 2; chain: default 5)
          --rate N                 latency: scheduled transactions per second (default 1000)
          --latency-seconds N      latency: measured seconds per consumer after a 5 s warm-up (default 30)
          --cost-seconds N         cost: pgbench -T (default 30)
          --scale N                cost: pgbench -s (default 10)
          --small-tx N             transactions of the small workload (default 20000; 5 row changes each)
          --large-rows N           rows of the large transaction (default 500000)
          --memory-rows N          rows of the memory figure's transaction (default 1000000)
          --queue-parts LIST       queue: capture (with ingest) and/or latency (default both)
          --workloads small,large,mix  which throughput workloads to run (profile: small, large)
          --work-mem SIZE          server logical_decoding_work_mem (default: the server default, 64MB)
          --durability default|off the servers' fsync, full_page_writes and synchronous_commit: PostgreSQL's defaults (on;
                                   the figures of record), or all off as the test servers run (a second column)
          --worker-arg ARG         extra argument for 'hindsight run' (repeatable), e.g. --worker-arg=--batch-size=5000
          --worker-env NAME=VALUE  extra environment variable for the worker process (repeatable), e.g. a DOTNET_ runtime knob
          --worker-nice N          run the worker under nice -n N (a lower CPU priority than the database's backends)
          --worker-dll PATH        the worker to run (default: the ReadyToRun-published worker built with the bench, see BENCHMARKS.md)
          --store-server           throughput: keep the store on a second private server (the worker's --store);
                                   cost: add a variant 'hindsight_store2' with the store there
          --split-cpus             cost: two machines emulated on two cores (implies --store-server): the tracked server and
                                   pgbench pinned to CPU 0; the worker, the store server and pg_recvlogical to CPU 1 (taskset)
          --keep                   keep the benchmark databases

        profiling aids (environment of the bench):
          HINDSIGHT_BENCH_PERF=<file>          perf record -a while each worker runs (run the worker with
                                               --worker-env DOTNET_PerfMapEnabled=1 to name JIT-compiled frames)
          HINDSIGHT_BENCH_TRACE=<file>         run the worker under dotnet-trace (HINDSIGHT_BENCH_DOTNET_TRACE=<path>)
          HINDSIGHT_BENCH_COUNTERS=<file>      dotnet-counters System.Runtime CSV of the worker (HINDSIGHT_BENCH_DOTNET_COUNTERS=<path>)
          HINDSIGHT_BENCH_RECV_STREAMING=off   pg_recvlogical without streaming=on
        """;

    private static async Task<int> Main(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help") { Console.WriteLine(Usage); return args.Length == 0 ? 1 : 0; }
        var figure = args[0];
        BenchOptions options;
        try { options = Parse(args[1..]); }
        catch (Exception e) when (e is FormatException or ArgumentException or IndexOutOfRangeException)
        {
            Console.Error.WriteLine(e.Message);
            Console.Error.WriteLine(Usage);
            return 1;
        }

        if (figure == "micro") return Micro.Run(options.Rest);
        if (figure == "efcore") return EfCoreFigure.Run(options.Rest);
        if (options.Rest.Length > 0)
        {
            Console.Error.WriteLine($"unknown option '{options.Rest[0]}'\n{Usage}");
            return 1;
        }
        if (figure is not ("throughput" or "memory" or "profile" or "query" or "latency" or "cost" or "queue" or "partition" or "store" or "temporal" or "chain" or "all"))
        {
            Console.Error.WriteLine($"unknown figure '{figure}'\n{Usage}");
            return 1;
        }

        if (options.SplitCpus && figure != "cost")
        {
            Console.Error.WriteLine("--split-cpus applies to the cost figure only");
            return 1;
        }
        if (options.SplitCpus && CpuPinning.CannotSplit() is { } why)
        {
            Console.Error.WriteLine(why);
            return 1;
        }

        var started = DateTime.UtcNow;
        await RunOnPrivateServerAsync(figure, options, started);
        // The EF Core figure starts a private server of its own, so it runs after this one is gone.
        if (figure == "all") EfCoreFigure.Run([]);
        if (figure == "all") Console.WriteLine($"all figures: {(DateTime.UtcNow - started).TotalMinutes:0.0} min");
        if (Scorecard.HasRows) Console.WriteLine(Scorecard.Render());
        return 0;
    }

    /// <summary>The figures that run on the bench's own private server (all but micro and efcore).</summary>
    private static async Task RunOnPrivateServerAsync(string figure, BenchOptions options, DateTime started)
    {
        var all = figure == "all";
        await using var server = await BenchServer.StartAsync(options.LogicalDecodingWorkMem, options.Durable);
        var header = $"Hindsight benchmark '{figure}', {started:yyyy-MM-dd HH:mm} UTC (load average at start: {Proc.LoadAverage()})\n{server.MachineInfo()}\n" +
                     $"worker: dotnet {WorkerProcess.HindsightDll} run (separate process){(options.WorkerArgs.Length > 0 ? " " + string.Join(' ', options.WorkerArgs) : "")}" +
                     $"{string.Concat(options.WorkerEnv.Select(kv => $"; env {kv.Key}={kv.Value}"))}\n";
        Console.WriteLine(header);
        await using var storeServer = options.StoreServer ? await BenchServer.StartAsync(null, options.Durable) : null;
        if (storeServer is not null) Console.WriteLine("store: a second private server on this machine (worker --store); the source's walsender does not read its WAL\n");
        if (options.SplitCpus)
        {
            CpuPinning.PinTree(server.Postmaster, CpuPinning.TrackedHost);
            CpuPinning.PinTree(storeServer!.Postmaster, CpuPinning.CaptureHost);
            BenchWorker.Cpu = CpuPinning.CaptureHost;
            Console.WriteLine($"split CPUs: tracked server and pgbench on CPU {CpuPinning.TrackedHost}; worker, store server and pg_recvlogical " +
                              $"on CPU {CpuPinning.CaptureHost}\n");
        }
        // The order: throughput, latency, cost, memory; then query. EF Core follows in Main.
        if (figure is "throughput" || all) Console.WriteLine(await new ThroughputFigure(server, options, storeServer).RunAsync());
        if (figure is "latency" || all) Console.WriteLine(await new LatencyFigure(server, options).RunAsync());
        if (figure is "cost" || all) Console.WriteLine(await new CostFigure(server, options, storeServer).RunAsync());
        if (figure is "memory" || all) Console.WriteLine(await new MemoryFigure(server, options).RunAsync());
        if (figure is "query" || all) Console.WriteLine(await new QueryFigure(server).RunAsync());
        if (figure is "profile") Console.WriteLine(await new ProfileFigure(server, options).RunAsync());
        if (figure is "queue") Console.WriteLine(await new QueueFigure(server, options).RunAsync());
        if (figure is "partition") Console.WriteLine(await new PartitionFigure(server, options).RunAsync());
        if (figure is "store") Console.WriteLine(await new StoreFigure(server, options).RunAsync());
        if (figure is "temporal") Console.WriteLine(await new TemporalFigure(server).RunAsync());
        if (figure is "chain") Console.WriteLine(await new ChainFigure(server, options).RunAsync());
        Console.WriteLine($"total time {(DateTime.UtcNow - started).TotalMinutes:0.0} min; load average at the end: {Proc.LoadAverage()}");
    }

    private static BenchOptions Parse(string[] args)
    {
        var o = new BenchOptions();
        var workerArgs = new List<string>();
        var rest = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            var a = args[i];
            string? inline = null;
            var eq = a.IndexOf('=');
            if (a.StartsWith("--", StringComparison.Ordinal) && eq > 0) { inline = a[(eq + 1)..]; a = a[..eq]; }
            string Value() => inline ?? args[++i];
            int Int() => int.Parse(Value().Replace("_", ""), NumberStyles.AllowThousands, CultureInfo.InvariantCulture);
            switch (a)
            {
                case "--runs": o.Runs = Int(); o.RunsGiven = true; break;
                case "--rate": o.LatencyRate = Int(); break;
                case "--latency-seconds": o.LatencySeconds = Int(); break;
                case "--cost-seconds": o.CostSeconds = Int(); break;
                case "--scale": o.CostScale = Int(); break;
                case "--small-tx": o.SmallTransactions = Int(); break;
                case "--large-rows": o.LargeRows = Int(); break;
                case "--memory-rows": o.MemoryRows = Int(); break;
                case "--workloads": o.Workloads = Value().Split(',', StringSplitOptions.RemoveEmptyEntries).ToHashSet(); break;
                case "--queue-parts": o.QueueParts = Value().Split(',', StringSplitOptions.RemoveEmptyEntries).ToHashSet(); break;
                case "--work-mem": o.LogicalDecodingWorkMem = Value(); break;
                case "--durability":
                    o.Durable = Value() switch
                    {
                        "default" => true,
                        "off" => false,
                        var d => throw new ArgumentException($"--durability must be default or off (got '{d}')"),
                    };
                    break;
                case "--worker-arg": workerArgs.Add(Value()); break;
                case "--worker-env":
                {
                    var kv = Value();
                    var at = kv.IndexOf('=');
                    if (at <= 0) throw new ArgumentException("--worker-env expects NAME=VALUE");
                    o.WorkerEnv[kv[..at]] = kv[(at + 1)..];
                    break;
                }
                case "--worker-dll": WorkerProcess.HindsightDll = Path.GetFullPath(Value()); break;
                case "--worker-nice": BenchWorker.Nice = Int(); break;
                case "--store-server": o.StoreServer = true; break;
                case "--split-cpus": o.SplitCpus = o.StoreServer = true; break;
                case "--keep": o.Keep = true; break;
                default: rest.Add(args[i]); break;
            }
        }
        if (o.Runs < 1) throw new ArgumentException("--runs must be at least 1");
        o.WorkerArgs = workerArgs.ToArray();
        BenchWorker.ExtraEnvironment = o.WorkerEnv;
        o.Rest = rest.ToArray();
        return o;
    }
}
