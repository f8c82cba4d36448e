using System.Collections.Concurrent;
using System.Globalization;
using Hindsight.Cli;
using Hindsight.Revert;
using Hindsight.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace Hindsight.Tests.Revert;

/// <summary>
/// A big revert shows how far it has come: the library reports rows checked and statements run, and the command prints
/// them as plain lines when stderr is not a terminal. The revert itself is checked against a real copy of the table.
/// </summary>
[Collection(PostgresCollection.Name)]
[Trait("Category", "PostgreSQL")]
public sealed class RevertProgressTests(PostgresFixture fixture, ITestOutputHelper output)
{
    /// <summary>Keeps every report, in order (a Progress&lt;T&gt; would post them to the thread pool).</summary>
    private sealed class Collect : IProgress<RevertProgress>
    {
        public ConcurrentQueue<RevertProgress> Reports { get; } = new();
        public void Report(RevertProgress value) => Reports.Enqueue(value);
    }

    [Fact]
    public async Task A_big_revert_reports_its_progress_and_the_command_prints_it()
    {
        const int Rows = 8000;
        await using var h = await CaptureHarness.CreateAsync(fixture, "CREATE TABLE items (id int PRIMARY KEY, v int NOT NULL);");
        h.StartWorker();
        await h.ExecuteAsync($"INSERT INTO items SELECT g, g FROM generate_series(1, {Rows}) g");
        await h.ExecuteAsync("CREATE TABLE before_update AS SELECT * FROM items"); // the real copy to come back to
        await h.ExecuteAsync("UPDATE items SET v = v + 1");
        await h.CatchUpAsync();
        var xid = await h.ScalarAsync<long>("SELECT transaction_id FROM hindsight.changes WHERE operation = 'UPDATE' LIMIT 1");

        // The library: both phases, counts that only grow, each phase ending at its total.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        void Mark(string what) => output.WriteLine($"{clock.Elapsed.TotalSeconds:0.0} s: {what}");
        Mark("captured");
        var collect = new Collect();
        var reverter = new Reverter(h.Source, h.Source) { Progress = collect };
        var plan = await reverter.PlanAsync(new RevertSelection { TransactionId = xid });
        Mark("planned");
        var result = await reverter.ApplyAsync(plan);
        Mark("applied");
        Assert.True(result.Applied);
        Assert.Equal(0L, await h.ScalarAsync<long>("SELECT count(*) FROM (SELECT * FROM items EXCEPT SELECT * FROM before_update) d"));
        var reports = collect.Reports.ToList();
        foreach (var phase in new[] { RevertProgress.Checking, RevertProgress.Applying })
        {
            var of = reports.Where(r => r.Phase == phase).ToList();
            Assert.NotEmpty(of);
            Assert.All(of, r => Assert.Equal(Rows, r.Total));
            Assert.Equal(Rows, of[^1].Done);
            Assert.True(of.Zip(of.Skip(1)).All(p => p.First.Done <= p.Second.Done), "progress went backwards");
        }
        output.WriteLine($"{reports.Count} reports; applying took {reports.Last().Elapsed.TotalSeconds:0.00} s");

        await h.CatchUpAsync();
        Mark("revert captured");
        // The revert's context stays small however many changes it undoes: the ids as one range, and the count.
        var revertOf = System.Text.Json.Nodes.JsonNode.Parse(await h.ScalarAsync<string>(
            "SELECT context::text FROM hindsight.changes WHERE context ? 'hindsight' ORDER BY id DESC LIMIT 1"))!["hindsight"]!["revertOf"]!;
        Assert.Equal(Rows, (int)revertOf["changeCount"]!);
        Assert.Null(revertOf["changes"]);
        var ranges = revertOf["changeRanges"]!.AsArray();
        Assert.Equal(Rows, ranges.Sum(r => (long)r![1]! - (long)r[0]! + 1));
        Assert.True(await h.ScalarAsync<long>("SELECT max(pg_column_size(context)) FROM hindsight.changes") < 1024);
        // And still says which changes it undid: planning the same revert again finds every row already reverted.
        var again = await reverter.PlanAsync(new RevertSelection { TransactionId = xid });
        Mark("planned again");
        Assert.Equal(Rows, again.Conflicts.Count);
        Assert.All(again.Conflicts, c => Assert.True(c.AlreadyReverted, c.Reason));

        // The command, reverting that revert (the UPDATE again): plain lines on stderr, each phase's end among them
        // once the phase has run a second.
        var revertXid = await h.ScalarAsync<long>("SELECT transaction_id FROM hindsight.changes WHERE context ? 'hindsight' ORDER BY id DESC LIMIT 1");
        var (code, _, stderr) = await CliRun.RunAsync(output, "revert", "--source", h.ConnectionString, "--slot", h.Slot, "--publication", h.Slot,
            "--transaction", revertXid.ToString(CultureInfo.InvariantCulture));
        Mark("cli done");
        Assert.True(code == 0, stderr);
        Assert.Equal((long)Rows, await h.ScalarAsync<long>("SELECT count(*) FROM items i JOIN before_update b USING (id) WHERE i.v = b.v + 1"));
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.All(lines, l => Assert.Matches(@"^revert: (checking [\d,]+ of 8,000 rows|applying [\d,]+ of 8,000 statements), [\d,]+/s", l));
        if (reports.Last().Elapsed > TimeSpan.FromSeconds(1.5)) // the library's run took long enough for lines to be due
            Assert.Contains(lines, l => l.StartsWith("revert: applying 8,000 of 8,000 statements", StringComparison.Ordinal));
    }
}

/// <summary>The command's progress line, without a server.</summary>
[Trait("Category", "Fast")]
public sealed class RevertProgressLineTests
{
    [Fact]
    public void A_progress_line_says_the_phase_the_counts_the_rate_and_the_time_left()
    {
        var line = RevertProgressDisplay.Line("rollback", new RevertProgress(RevertProgress.Applying, 12_000, 40_000, TimeSpan.FromSeconds(4)));
        Assert.Equal("rollback: applying 12,000 of 40,000 statements, 3,000/s, about 10 s left", line);
        Assert.Equal("revert: checking 5 of 5 rows, 5/s",
            RevertProgressDisplay.Line("revert", new RevertProgress(RevertProgress.Checking, 5, 5, TimeSpan.FromSeconds(1))));
    }
}
