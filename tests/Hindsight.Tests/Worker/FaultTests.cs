using System.Diagnostics;
using Hindsight.Capture;
using Hindsight.Embedded;
using Hindsight.Setup;
using Hindsight.Status;
using Hindsight.Tests.Infrastructure;
using Hindsight.Worker;
using Npgsql;
using NpgsqlTypes;
using Xunit;
using Xunit.Abstractions;

namespace Hindsight.Tests.Worker;

/// <summary>
/// Faults around a running worker: the server crashing and coming back, the store going away, long and
/// interleaved transactions, a second worker, a slot dropped or invalidated behind the worker's back. After each,
/// every row change PostgreSQL made (oracle trigger) must be stored exactly once, or the worker must stop with a
/// clear error rather than skip changes silently. The worker's output must never show the password it was given.
/// </summary>
[Collection(PostgresCollection.Name)]
[Trait("Category", "PostgreSQL")]
public sealed class FaultTests(PostgresFixture fixture, ITestOutputHelper output)
{
    // Given to every worker in its connection strings; it must never appear in what the worker prints or logs.
    private const string Password = "Pw-7c1e-never-printed-93ad";
    private const string WorkerRole = "hs_worker";
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(120);

    // ---- 1. the server crashes and comes back --------------------------------------------------------------

    [Fact]
    public async Task PostgreSQL_restarted_with_immediate_shutdown_mid_stream_loses_and_duplicates_nothing()
    {
        var clock = Stopwatch.StartNew();
        // A private server: restarting the shared one would break the other tests. synchronous_commit stays off
        // (PrivatePostgresServer's default), as on many production servers: the store must be durable anyway.
        await using var server = await PrivatePostgresServer.StartAsync(new Dictionary<string, string>
        {
            ["logical_decoding_work_mem"] = "1MB",
            ["max_slot_wal_keep_size"] = "1GB", // bounded retention, far above what this test writes
        });
        var (admin, workerCs) = await CreatePrivateSourceAsync(server);
        await using var adminLifetime = admin;

        using var stopWorkload = new CancellationTokenSource();
        var writers = Enumerable.Range(0, 2).Select(w => Task.Run(() => FaultWorkload.RunAsync(admin, w, stopWorkload.Token))).ToArray();
        using var worker = WorkerProcess.Start("--source", workerCs, "--slot", PrivateSlot, "--publication", PrivateSlot);
        var stored = await WaitForProgressAsync(admin, PrivateSlot, 0, worker);

        const int restarts = 3;
        for (var i = 1; i <= restarts; i++)
        {
            await Task.Delay(1500); // the workload and the worker run meanwhile
            Assert.False(worker.HasExited, "the worker exited:\n" + worker.Output);
            await server.StopServerAsync("immediate"); // a crash: no shutdown checkpoint, walsenders killed
            await Task.Delay(1000);
            await server.StartServerAsync(); // crash recovery
            admin.Clear(); // pooled connections died with the server
            stored = await WaitForProgressAsync(admin, PrivateSlot, stored, worker); // reconnected and storing again
            output.WriteLine($"restart {i}: worker storing again, at {new NpgsqlLogSequenceNumber(stored)}");
        }
        await Task.Delay(1000);
        await stopWorkload.CancelAsync();
        var results = await Task.WhenAll(writers);
        await WaitForCatchUpAsync(admin, admin, PrivateSlot, worker);
        Assert.Equal(0, worker.Terminate(TimeSpan.FromSeconds(30)));

        var figures = await OracleFigures.ReadAsync(admin);
        output.WriteLine($"{restarts} immediate restarts; workload committed {results.Sum(r => r.Committed)} transactions " +
                         $"({results.Sum(r => r.Failed)} failed with the server); {figures}; {clock.Elapsed.TotalSeconds:0.0}s");
        Assert.True(figures.Made > 500, "the workload should have made a real number of changes");
        Assert.True(figures.ExactlyOnce, figures.ToString());
        Assert.True(Count(worker.Output, "capture interrupted") >= restarts, "the worker should have seen each crash:\n" + worker.Output);
        Assert.DoesNotContain(Password, worker.Output);
    }

    [Fact]
    public async Task A_crash_right_after_an_acknowledgement_loses_nothing_even_when_the_server_commits_asynchronously()
    {
        var clock = Stopwatch.StartNew();
        // synchronous_commit off and a slow WAL writer: a store commit can sit in WAL buffers for seconds, and an
        // immediate shutdown throws those away. The slot's position, though, is written to disk as soon as an
        // acknowledgement moves its restart point. Acknowledging a store commit that is not yet on disk loses changes.
        await using var server = await PrivatePostgresServer.StartAsync(new Dictionary<string, string>
        {
            ["synchronous_commit"] = "off",
            ["wal_writer_delay"] = "10s",
        });
        var (admin, workerCs) = await CreatePrivateSourceAsync(server);
        await using var adminLifetime = admin;
        using var worker = WorkerProcess.Start("--source", workerCs, "--slot", PrivateSlot, "--publication", PrivateSlot);
        await WaitForProgressAsync(admin, PrivateSlot, 0, await MarkAsync(admin), worker);

        const int crashes = 3;
        for (var i = 1; i <= crashes; i++)
        {
            // A checkpoint logs the running transactions: the next acknowledgement moves the slot's restart point,
            // which saves the slot (with its confirmed position) to disk at once.
            await ExecuteAsync(admin, "CHECKPOINT");
            ulong before;
            await using (var conn = await admin.OpenConnectionAsync())
            await using (var tx = await conn.BeginTransactionAsync())
            {
                // Flushed at commit, so decoded at once; the store's commit that follows is asynchronous.
                (_, before) = await XidAndPositionAsync(conn,
                    $"SET LOCAL synchronous_commit = on; SELECT pg_logical_emit_message(true, 'hindsight', '{{\"crash\": {i}}}'); " +
                    $"INSERT INTO accounts VALUES ({8_000_000 + i}, {i}, 'acknowledged, then crash');");
                await tx.CommitAsync();
            }
            Assert.True(await PollAsync(() => ConfirmedAsync(admin, PrivateSlot), c => c > before, Generous) > before,
                "the worker never acknowledged the transaction:\n" + worker.Output);
            await server.StopServerAsync("immediate"); // right after the acknowledgement
            await server.StartServerAsync();
            admin.Clear();
            await WaitForProgressAsync(admin, PrivateSlot, 0, await MarkAsync(admin), worker); // back, and caught up
        }
        Assert.Equal(0, worker.Terminate(TimeSpan.FromSeconds(30)));

        var figures = await OracleFigures.ReadAsync(admin);
        output.WriteLine($"{crashes} immediate shutdowns right after an acknowledgement; {figures}; {clock.Elapsed.TotalSeconds:0.0}s");
        Assert.Equal(crashes, figures.Made);
        Assert.True(figures.ExactlyOnce, figures.ToString());
        Assert.DoesNotContain(Password, worker.Output);
    }

    // ---- 2. the store is unreachable for a while -------------------------------------------------------------

    [Fact]
    public async Task An_unreachable_store_is_waited_for_without_acknowledging_the_slot_and_nothing_is_lost()
    {
        var clock = Stopwatch.StartNew();
        var sourceCs = await fixture.CreateDatabaseAsync("src");
        var storeCs = await fixture.CreateDatabaseAsync("store");
        var slot = new NpgsqlConnectionStringBuilder(sourceCs).Database!;
        var storeDb = new NpgsqlConnectionStringBuilder(storeCs).Database!;
        await using var source = NpgsqlDataSource.Create(sourceCs);
        await using var store = NpgsqlDataSource.Create(storeCs);
        await using var server = NpgsqlDataSource.Create(fixture.Server.ConnectionString());
        await ExecuteAsync(source, FaultWorkload.Schema);
        await new SetupRunner(new SetupOptions
        {
            SourceConnectionString = sourceCs, StoreConnectionString = storeCs, Slot = slot, Publication = slot, Schemas = ["public"],
        }).RunAsync();

        using var logs = new CollectingLoggerFactory();
        using var stopWorker = new CancellationTokenSource();
        var worker = new CaptureWorker(new CaptureOptions
        {
            SourceConnectionString = sourceCs + ";Password=" + Password, StoreConnectionString = storeCs + ";Password=" + Password,
            Slot = slot, Publication = slot,
            ReconnectMinDelay = TimeSpan.FromMilliseconds(200), ReconnectMaxDelay = TimeSpan.FromSeconds(1),
        }, logs);
        var running = Task.Run(() => worker.RunAsync(stopWorker.Token));
        using var stopWorkload = new CancellationTokenSource();
        var writers = Enumerable.Range(0, 2).Select(w => Task.Run(() => FaultWorkload.RunAsync(source, w, stopWorkload.Token))).ToArray();
        try
        {
            await Task.Delay(1000);
            await CatchUp.WaitAsync(source, store, slot, Generous);

            // The outage: no new connection to the store database, and the worker's connections killed. One
            // connection of the test's own, opened before, stays to watch the progress row meanwhile.
            await using var watch = await store.OpenConnectionAsync();
            await ExecuteAsync(server, $"ALTER DATABASE \"{storeDb}\" ALLOW_CONNECTIONS false");
            var killed = await ScalarAsync<long>(server,
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1 AND pid <> $2",
                storeDb, watch.ProcessID);
            var madeBefore = await ScalarAsync<long>(source, "SELECT count(*) FROM oracle.log");
            StatusReport? status = null;
            ulong frozen = 0;
            var samples = 0;
            var outage = Stopwatch.StartNew();
            while (outage.Elapsed < TimeSpan.FromSeconds(6))
            {
                await Task.Delay(300);
                var confirmed = await ConfirmedAsync(source, slot);
                var progress = await StoredEndAsync(watch, slot);
                // Never acknowledged past what the store holds.
                Assert.True(confirmed <= progress,
                    $"slot confirmed {new NpgsqlLogSequenceNumber(confirmed)} while the store holds up to {new NpgsqlLogSequenceNumber(progress)}");
                if (samples++ == 0) frozen = progress;
                Assert.Equal(frozen, progress); // nothing can be stored while the store is away
                if (outage.Elapsed > TimeSpan.FromSeconds(3) && status is null)
                    status = await new StatusReader(new StatusOptions
                    {
                        SourceConnectionString = sourceCs, StoreConnectionString = storeCs, Slot = slot, Publication = slot,
                    }).ReadAsync();
            }
            var madeDuring = await ScalarAsync<long>(source, "SELECT count(*) FROM oracle.log") - madeBefore;
            Assert.False(running.IsCompleted, "the worker gave up instead of waiting for the store:\n" + logs.Text);
            await ExecuteAsync(server, $"ALTER DATABASE \"{storeDb}\" ALLOW_CONNECTIONS true");
            store.Clear(); // the test's own pooled store connections were killed too

            output.WriteLine(status!.ToText());
            Assert.False(status.Healthy);
            Assert.Contains(status.Problems, p => p.Contains("store cannot be read") && p.Contains("not currently accepting connections"));
            Assert.DoesNotContain(status.Problems, p => p.Contains("schema version") || p.Contains("not set up")); // unknown, not wrong
            Assert.False(status.StoreReadable);

            await Task.Delay(1500); // writes go on after the store is back
            await stopWorkload.CancelAsync();
            var results = await Task.WhenAll(writers);
            await CatchUp.WaitAsync(source, store, slot, Generous);
            await stopWorker.CancelAsync();
            await running;
            Assert.True(await ConfirmedAsync(source, slot) <= await StoredEndAsync(store, slot));

            var figures = await OracleFigures.ReadAsync(source, store);
            output.WriteLine($"store unreachable {outage.Elapsed.TotalSeconds:0.0}s ({killed} store connections killed, {samples} samples with the slot " +
                             $"not past the store); {madeDuring} row changes made meanwhile; workload committed {results.Sum(r => r.Committed)} " +
                             $"transactions; {figures}; {clock.Elapsed.TotalSeconds:0.0}s");
            Assert.True(madeDuring > 100, "writes should have gone on during the outage");
            Assert.True(figures.ExactlyOnce, figures.ToString());
            Assert.Contains("not currently accepting connections", logs.Text);
            Assert.DoesNotContain(Password, logs.Text);
        }
        finally
        {
            await stopWorkload.CancelAsync();
            await stopWorker.CancelAsync();
            try { await ExecuteAsync(server, $"ALTER DATABASE \"{storeDb}\" ALLOW_CONNECTIONS true"); } catch (NpgsqlException) { }
            try { await running; } catch (Exception) { /* reported by the assertions */ }
            try { await ExecuteAsync(source, "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1 AND NOT active", slot); }
            catch (NpgsqlException) { }
        }
    }

    // ---- 3. long, short, streamed and rolled-back transactions interleaved -----------------------------------

    [Fact]
    public async Task A_long_transaction_interleaved_with_hundreds_of_short_ones_and_a_streamed_one_keeps_commit_order_and_exactly_once()
    {
        var clock = Stopwatch.StartNew();
        await using var h = await CaptureHarness.CreateAsync(fixture,
            Oracle.Install +
            """
            CREATE TABLE long_rows (id int PRIMARY KEY, v text);
            CREATE TABLE short_rows (id int PRIMARY KEY, n int, v text);
            CREATE TABLE big_rows (id int PRIMARY KEY, payload text);
            """ + Oracle.Attach("long_rows") + Oracle.Attach("short_rows") + Oracle.Attach("big_rows"));
        var options = h.Options(o => new()
        {
            SourceConnectionString = o.SourceConnectionString, Slot = o.Slot, Publication = o.Publication,
            ReconnectMinDelay = TimeSpan.FromMilliseconds(100),
        });
        h.StartWorker(options);

        // Every committed transaction with the WAL positions PostgreSQL reported just before and just after its COMMIT.
        var commits = new List<(long Xid, ulong Before, ulong After, string Kind)>();
        await using var longConn = await h.Source.OpenConnectionAsync();
        await using var longTx = await longConn.BeginTransactionAsync();
        var longXid = await ScalarAsync<long>(longConn,
            "SELECT pg_logical_emit_message(true, 'hindsight', '{\"tx\": \"long\"}'); INSERT INTO long_rows VALUES (0, 'start'); SELECT txid_current() % 4294967296");
        await using var bigConn = await h.Source.OpenConnectionAsync();
        NpgsqlTransaction? bigTx = null;
        long bigXid = 0;
        await using var shortConn = await h.Source.OpenConnectionAsync();
        await using var ghostConn = await h.Source.OpenConnectionAsync();

        const int shortTransactions = 300;
        for (var i = 1; i <= shortTransactions; i++)
        {
            await using (var tx = await shortConn.BeginTransactionAsync())
            {
                var (xid, before) = await XidAndPositionAsync(shortConn,
                    $$"""
                    SELECT pg_logical_emit_message(true, 'hindsight', '{"short": {{i}}}');
                    INSERT INTO short_rows VALUES ({{i}}, {{i}}, 's'), ({{-i}}, {{i}}, 's');
                    UPDATE short_rows SET v = 'u' WHERE id = {{i}};
                    DELETE FROM short_rows WHERE id = {{-i}};
                    """);
                await tx.CommitAsync();
                commits.Add((xid, before, await PositionAsync(shortConn), "short"));
            }
            if (i % 30 == 0) // the long transaction writes now and then, and stays open
                await ExecuteAsync(longConn, $"INSERT INTO long_rows VALUES ({i}, 'at {i}'); UPDATE long_rows SET v = v || '.' WHERE id = 0");
            if (i == 50)
            {
                bigTx = await bigConn.BeginTransactionAsync();
                bigXid = await ScalarAsync<long>(bigConn,
                    "SELECT pg_logical_emit_message(true, 'hindsight', '{\"tx\": \"big\"}'); SELECT txid_current() % 4294967296");
            }
            if (i is > 50 and <= 150 && i % 20 == 0) // about 1.4 MB a chunk: streamed past logical_decoding_work_mem (1MB)
                await ExecuteAsync(bigConn, $"INSERT INTO big_rows SELECT g, repeat(md5(g::text), 6) FROM generate_series({i * 1000}, {i * 1000 + 5999}) g");
            if (i == 90) // a subtransaction of the streamed one rolled back: its rows are discarded, the rest kept
                await ExecuteAsync(bigConn,
                    "SAVEPOINT sp; INSERT INTO big_rows SELECT g, 'gone' FROM generate_series(900000, 900499) g; ROLLBACK TO SAVEPOINT sp");
            if (i == 100)
            {
                // Rolled back after emitting context: a small one, and one big enough to be streamed before its abort.
                await ExecuteAsync(ghostConn,
                    "BEGIN; SELECT pg_logical_emit_message(true, 'hindsight', '{\"user\": \"ghost\"}'); " +
                    "INSERT INTO short_rows SELECT g, g, 'ghost' FROM generate_series(100001, 100010) g; ROLLBACK");
                await ExecuteAsync(ghostConn,
                    "BEGIN; SELECT pg_logical_emit_message(true, 'hindsight', '{\"user\": \"big ghost\"}'); " +
                    "INSERT INTO big_rows SELECT g, repeat(md5(g::text), 6) FROM generate_series(2000000, 2009999) g; ROLLBACK");
            }
            if (i == 160)
            {
                // The worker restarts while the long and the streamed transaction are open (the latter partly streamed).
                await h.StopWorkerAsync();
                h.StartWorker(options);
            }
            if (i == 200)
            {
                var before = await PositionAsync(bigConn);
                await bigTx!.CommitAsync();
                commits.Add((bigXid, before, await PositionAsync(bigConn), "big"));
            }
        }
        await ExecuteAsync(longConn, "INSERT INTO long_rows VALUES (-1, 'end')");
        var longBefore = await PositionAsync(longConn);
        await longTx.CommitAsync();
        commits.Add((longXid, longBefore, await PositionAsync(longConn), "long"));
        await h.CatchUpAsync(Generous);

        var figures = await OracleFigures.ReadAsync(h.Source);
        Assert.True(figures.ExactlyOnce, figures.ToString());

        // Commit order: each transaction is stored at the commit position PostgreSQL reported around its COMMIT …
        var stored = (await h.RowsAsync("SELECT transaction_id, min(commit_lsn), max(commit_lsn) FROM hindsight.changes GROUP BY transaction_id"))
            .ToDictionary(r => long.Parse(r[0]), r => (Min: ulong.Parse(r[1]), Max: ulong.Parse(r[2])));
        foreach (var c in commits)
        {
            Assert.True(stored.TryGetValue(c.Xid, out var at), $"{c.Kind} transaction {c.Xid} is not stored");
            Assert.Equal(at.Min, at.Max);
            Assert.True(c.Before <= at.Min && at.Min < c.After,
                $"{c.Kind} transaction {c.Xid} stored at {new NpgsqlLogSequenceNumber(at.Min)}, committed between " +
                $"{new NpgsqlLogSequenceNumber(c.Before)} and {new NpgsqlLogSequenceNumber(c.After)}");
        }
        Assert.Equal(commits.Count, stored.Count);
        // … and the store's own order (id) is commit order.
        Assert.Equal(0L, await h.ScalarAsync<long>(
            """
            SELECT count(*) FROM (
                SELECT commit_lsn, ordinal, lag(commit_lsn) OVER w AS prev_lsn, lag(ordinal) OVER w AS prev_ordinal
                FROM hindsight.changes WINDOW w AS (ORDER BY id)) x
            WHERE (commit_lsn, ordinal) <= (prev_lsn, prev_ordinal)
            """));
        // Contexts: each row has its own transaction's; nothing of the rolled-back ones, not even their context.
        Assert.Equal(0L, await h.ScalarAsync<long>(
            """
            SELECT count(*) FROM hindsight.changes WHERE context::text LIKE '%ghost%'
               OR ("table" = 'short_rows' AND (context->>'short')::int IS DISTINCT FROM coalesce(after->>'n', before->>'n')::int)
               OR ("table" = 'big_rows' AND context->>'tx' IS DISTINCT FROM 'big')
               OR ("table" = 'long_rows' AND context->>'tx' IS DISTINCT FROM 'long')
            """));
        // PostgreSQL's own counters say the large transactions really were streamed (in progress, in chunks).
        var streamed = await PollAsync(() => h.ScalarAsync<long>("SELECT coalesce(sum(stream_txns), 0) FROM pg_stat_replication_slots WHERE slot_name = $1", h.Slot),
            n => n >= 2, TimeSpan.FromSeconds(15));
        output.WriteLine($"{shortTransactions} short transactions, one long ({longXid}) open throughout, one streamed ({bigXid}), two rolled back, " +
                         $"one worker restart; streamed transactions (pg_stat_replication_slots): {streamed}; {figures}; {clock.Elapsed.TotalSeconds:0.0}s");
        Assert.True(streamed >= 2, "the big transaction and the big rolled-back one should have been streamed");
    }

    // ---- 4. two workers, one slot ---------------------------------------------------------------------------

    [Fact]
    public async Task A_second_worker_on_the_same_slot_refuses_clearly_and_the_first_keeps_going()
    {
        var clock = Stopwatch.StartNew();
        await using var h = await CaptureHarness.CreateAsync(fixture, FaultWorkload.Schema);
        var args = new[] { "--source", h.ConnectionString + ";Password=" + Password, "--slot", h.Slot, "--publication", h.Slot };
        using var stopWorkload = new CancellationTokenSource();
        var writer = Task.Run(() => FaultWorkload.RunAsync(h.Source, 0, stopWorkload.Token));
        using var first = WorkerProcess.Start(args);
        await h.CatchUpAsync(first, Generous);
        var walsender = await h.ScalarAsync<int>("SELECT active_pid FROM pg_replication_slots WHERE slot_name = $1", h.Slot);

        int? exitCode;
        string secondOutput;
        using (var second = WorkerProcess.Start(args))
        {
            exitCode = second.WaitForExit(TimeSpan.FromSeconds(90));
            secondOutput = second.Output;
        }
        output.WriteLine("second worker (process): exit " + exitCode + "\n" + secondOutput);
        Assert.Equal(1, exitCode);
        Assert.Contains("in use by another process", secondOutput);
        Assert.Contains("Only one worker can read a slot", secondOutput);
        Assert.DoesNotContain(Password, secondOutput);

        using var logs = new CollectingLoggerFactory();
        var inProcess = new CaptureWorker(h.Options(o => new()
        {
            SourceConnectionString = o.SourceConnectionString + ";Password=" + Password, Slot = o.Slot, Publication = o.Publication,
            SlotInUseTimeout = TimeSpan.FromSeconds(2),
        }), logs);
        var refused = await Assert.ThrowsAsync<CaptureException>(() => inProcess.RunAsync(CancellationToken.None).WaitAsync(Generous));
        output.WriteLine("second worker (in process): " + refused.Message);
        Assert.Contains("in use by another process", refused.Message);
        Assert.DoesNotContain(Password, refused.Message + logs.Text);

        // The first one was never disturbed: same walsender, still storing.
        Assert.False(first.HasExited, "the first worker stopped:\n" + first.Output);
        Assert.Equal(walsender, await h.ScalarAsync<int>("SELECT active_pid FROM pg_replication_slots WHERE slot_name = $1", h.Slot));
        await stopWorkload.CancelAsync();
        var (committed, _) = await writer;
        await h.CatchUpAsync(first, Generous);
        Assert.Equal(0, first.Terminate(TimeSpan.FromSeconds(30)));

        var figures = await OracleFigures.ReadAsync(h.Source);
        output.WriteLine($"two refusals; workload committed {committed} transactions; {figures}; {clock.Elapsed.TotalSeconds:0.0}s");
        Assert.True(figures.ExactlyOnce, figures.ToString());
        Assert.DoesNotContain(Password, first.Output);
    }

    // ---- 5. the slot dropped or invalidated behind the worker's back ----------------------------------------

    [Fact]
    public async Task A_slot_dropped_while_the_worker_was_stopped_stops_it_with_a_clear_error_and_is_never_recreated()
    {
        var clock = Stopwatch.StartNew();
        await using var h = await CaptureHarness.CreateAsync(fixture, FaultWorkload.Schema);
        var args = new[] { "--source", h.ConnectionString + ";Password=" + Password, "--slot", h.Slot, "--publication", h.Slot };
        var captured = await CaptureForAWhileAsync(h.Source, args, h.Source, h.Slot);
        Assert.True(captured.ExactlyOnce, captured.ToString());

        Assert.True(await PollAsync(() => h.ScalarAsync<bool>("SELECT NOT active FROM pg_replication_slots WHERE slot_name = $1", h.Slot), x => x, Generous));
        await h.ExecuteAsync("SELECT pg_drop_replication_slot($1)", h.Slot);
        await WriteForAsync(h.Source, TimeSpan.FromSeconds(1)); // changes no slot records

        var (exitCode, workerOutput) = RunUntilExit(args);
        output.WriteLine($"worker exit {exitCode}:\n{workerOutput}");
        Assert.Equal(1, exitCode);
        Assert.Contains($"replication slot '{h.Slot}' does not exist", workerOutput);
        Assert.Contains("dropped", workerOutput);
        Assert.DoesNotContain(Password, workerOutput);
        Assert.Equal(0L, await h.ScalarAsync<long>("SELECT count(*) FROM pg_replication_slots WHERE slot_name = $1", h.Slot));

        var status = await new StatusReader(new StatusOptions { SourceConnectionString = h.ConnectionString, Slot = h.Slot, Publication = h.Slot }).ReadAsync();
        output.WriteLine(status.ToText());
        Assert.False(status.Healthy);
        Assert.Contains(status.Problems, p => p.Contains("does not exist"));
        Assert.Contains("does not exist", status.LastError);

        var after = await OracleFigures.ReadAsync(h.Source);
        output.WriteLine($"before the drop: {captured}; after the drop: made {after.Made - captured.Made} more, stored {after.Stored - captured.Stored}; " +
                         $"{clock.Elapsed.TotalSeconds:0.0}s");
        Assert.Equal(captured.Stored, after.Stored); // nothing silently captured from a new slot
        Assert.True(after.Made > captured.Made);
    }

    [Fact]
    public async Task A_slot_invalidated_by_max_slot_wal_keep_size_stops_the_worker_and_status_says_what_was_lost()
    {
        var clock = Stopwatch.StartNew();
        // A private server: the WAL limit and the checkpoints that apply it are cluster-wide.
        await using var server = await PrivatePostgresServer.StartAsync(new Dictionary<string, string> { ["logical_decoding_work_mem"] = "1MB" });
        var (admin, workerCs) = await CreatePrivateSourceAsync(server);
        await using var adminLifetime = admin;
        var args = new[] { "--source", workerCs, "--slot", PrivateSlot, "--publication", PrivateSlot };
        var captured = await CaptureForAWhileAsync(admin, args, admin, PrivateSlot);
        Assert.True(captured.ExactlyOnce, captured.ToString());

        // With the worker stopped, WAL moves on past a small limit, and checkpoints remove what the slot needs.
        await ExecuteAsync(admin, "ALTER SYSTEM SET max_slot_wal_keep_size = '1MB'");
        await ExecuteAsync(admin, "SELECT pg_reload_conf()");
        Assert.True(await PollAsync(() => ScalarAsync<bool>(admin, "SELECT NOT active FROM pg_replication_slots WHERE slot_name = $1", PrivateSlot), x => x, Generous));
        var walStatus = "";
        for (var i = 0; i < 30 && walStatus != "lost"; i++)
        {
            await ExecuteAsync(admin, $"INSERT INTO accounts VALUES ({5_000_000 + i}, {i}, 'lost')"); // a change that will never be captured
            await ExecuteAsync(admin, "SELECT pg_switch_wal()");
            await ExecuteAsync(admin, "CHECKPOINT");
            walStatus = await ScalarAsync<string>(admin, "SELECT wal_status FROM pg_replication_slots WHERE slot_name = $1", PrivateSlot);
        }
        Assert.Equal("lost", walStatus);
        var workerStarted = await ScalarAsync<DateTime>(admin, "SELECT now()");

        var (exitCode, workerOutput) = RunUntilExit(args);
        output.WriteLine($"worker exit {exitCode}:\n{workerOutput}");
        Assert.Equal(1, exitCode);
        Assert.Contains("invalidated", workerOutput);
        Assert.Contains("max_slot_wal_keep_size", workerOutput);
        Assert.Contains("teardown", workerOutput);
        Assert.DoesNotContain(Password, workerOutput);
        // The slot is neither dropped nor recreated behind the user's back: it stays, lost, for them to see.
        Assert.Equal("lost", await ScalarAsync<string>(admin, "SELECT wal_status FROM pg_replication_slots WHERE slot_name = $1", PrivateSlot));

        var status = await new StatusReader(new StatusOptions { SourceConnectionString = workerCs, Slot = PrivateSlot, Publication = PrivateSlot }).ReadAsync();
        output.WriteLine(status.ToText());
        Assert.False(status.Healthy);
        Assert.Equal("lost", status.WalStatus);
        var problem = status.Problems[0];
        Assert.Contains("wal_status lost", problem);
        Assert.Contains(status.LastStoredPosition!, problem); // what is safe: everything up to here
        Assert.Contains("teardown", problem);
        Assert.Contains("setup", problem);
        Assert.DoesNotContain(Password, status.ToText());
        Assert.Contains("invalidated", status.LastError);
        // Recording the error did not make the store look fresh: lag is judged by when it last advanced.
        Assert.True(status.ProgressUpdatedAt < new DateTimeOffset(workerStarted, TimeSpan.Zero),
            $"progress updated at {status.ProgressUpdatedAt}, after the failing worker started ({workerStarted:O})");

        var after = await OracleFigures.ReadAsync(admin);
        output.WriteLine($"before the loss: {captured}; after it: made {after.Made - captured.Made} more, stored {after.Stored - captured.Stored}; " +
                         $"{clock.Elapsed.TotalSeconds:0.0}s");
        Assert.Equal(captured.Stored, after.Stored); // never a silent restart that skips changes
        Assert.True(after.Made > captured.Made);
    }

    // ---- 3. replicas: one worker active, the others in standby ------------------------------------------------

    [Fact]
    public async Task Three_replicas_with_the_active_one_killed_five_times_store_every_change_exactly_once()
    {
        var clock = Stopwatch.StartNew();
        await using var server = await PrivatePostgresServer.StartAsync();
        var (admin, workerCs) = await CreatePrivateSourceAsync(server);
        await using var adminLifetime = admin;
        // Each replica names itself in its connections (a restarted one under a new name), so PostgreSQL says which
        // one holds the slot.
        var byName = new Dictionary<string, WorkerProcess>();
        var generation = 0;
        string StartReplica()
        {
            var name = $"replica-{++generation}";
            byName[name] = WorkerProcess.Start(
                "--source", $"{workerCs};Application Name={name}", "--slot", PrivateSlot, "--publication", PrivateSlot, "--standby");
            return name;
        }
        try
        {
            for (var i = 0; i < 3; i++) StartReplica();
            using var stopWorkload = new CancellationTokenSource();
            var writers = Enumerable.Range(0, 2).Select(w => Task.Run(() => FaultWorkload.RunAsync(admin, w, stopWorkload.Token))).ToArray();
            var active = await ActiveReplicaAsync(admin, except: null);
            var stored = await WaitForProgressAsync(admin, PrivateSlot, 0, byName[active]);

            const int kills = 5;
            for (var k = 1; k <= kills; k++)
            {
                await Task.Delay(1000); // the workload and the active replica run meanwhile
                foreach (var (name, r) in byName.Where(r => !r.Value.HasExited || r.Key == active))
                    Assert.False(r.HasExited, $"{name} exited:\n" + r.Output);
                var holder = await ActiveReplicaAsync(admin, except: null);
                Assert.True(active == holder, $"{holder} holds the slot, not {active}:\n" +
                    string.Join("\n", byName.Select(r => $"--- {r.Key}:\n{r.Value.Output}")));
                byName[active].Kill(); // SIGKILL: no goodbye, an open store transaction, unacknowledged changes
                var restarted = StartReplica(); // the orchestrator's restart: a new standby in its place
                var takeover = Stopwatch.StartNew();
                var next = await ActiveReplicaAsync(admin, except: active);
                stored = await WaitForProgressAsync(admin, PrivateSlot, stored, byName[next]); // storing again, past the dead one
                output.WriteLine($"kill {k}: {active} killed ({restarted} started), {next} storing again after {takeover.Elapsed.TotalSeconds:0.0}s");
                Assert.True(takeover.Elapsed < TimeSpan.FromSeconds(15), $"the takeover took {takeover.Elapsed}");
                active = next;
            }
            await Task.Delay(1000);
            await stopWorkload.CancelAsync();
            var results = await Task.WhenAll(writers);
            await WaitForCatchUpAsync(admin, admin, PrivateSlot, byName[active]);
            foreach (var r in byName.Values.Where(r => !r.HasExited))
                Assert.Equal(0, r.Terminate(TimeSpan.FromSeconds(30))); // standbys stop gracefully too
            Assert.Equal(3, byName.Values.Count(r => r.ExitCode == 0));

            var figures = await OracleFigures.ReadAsync(admin);
            output.WriteLine($"{kills} kills of the active replica; workload committed {results.Sum(r => r.Committed)} transactions; " +
                             $"{figures}; {clock.Elapsed.TotalSeconds:0.0}s");
            Assert.True(figures.Made > 300, "the workload should have made a real number of changes");
            Assert.True(figures.ExactlyOnce, figures.ToString());
            var logs = string.Concat(byName.Values.Select(r => r.Output));
            Assert.Contains("standing by: replication slot", logs, StringComparison.Ordinal);
            Assert.Contains("took over replication slot", logs, StringComparison.Ordinal);
            Assert.DoesNotContain("is another worker running", logs); // standbys wait, they do not give up
            Assert.DoesNotContain(Password, logs);
        }
        finally
        {
            foreach (var r in byName.Values) r.Dispose();
        }
    }

    /// <summary>Which replica (by its application name) holds the slot now, other than <paramref name="except"/>; waits for one to.</summary>
    private static async Task<string> ActiveReplicaAsync(NpgsqlDataSource source, string? except)
    {
        var name = await PollAsync(() => ScalarAsync<string>(source,
                "SELECT coalesce((SELECT a.application_name FROM pg_replication_slots s JOIN pg_stat_activity a ON a.pid = s.active_pid " +
                "WHERE s.slot_name = $1), '')", PrivateSlot),
            n => n.StartsWith("replica-", StringComparison.Ordinal) && n != except, Generous);
        Assert.True(name.StartsWith("replica-", StringComparison.Ordinal) && name != except, $"no replica took the slot over from {except}");
        return name;
    }

    // ---- helpers ----------------------------------------------------------------------------------------------

    private const string PrivateSlot = "faults";

    /// <summary>
    /// Creates database <c>faults</c> with the workload's tables on a private server, sets capture up (as the superuser),
    /// and a worker role that must log in with <see cref="Password"/> (scram), so a leak of it would be a real one.
    /// </summary>
    private static async Task<(NpgsqlDataSource Admin, string WorkerConnectionString)> CreatePrivateSourceAsync(PrivatePostgresServer server)
    {
        await using (var postgres = NpgsqlDataSource.Create(server.ConnectionString()))
        {
            await ExecuteAsync(postgres, "CREATE DATABASE faults");
            await ExecuteAsync(postgres, $"CREATE ROLE {WorkerRole} LOGIN SUPERUSER REPLICATION PASSWORD '{Password}'");
        }
        var adminCs = server.ConnectionString("faults");
        var admin = NpgsqlDataSource.Create(adminCs);
        await ExecuteAsync(admin, FaultWorkload.Schema);
        await new SetupRunner(new SetupOptions { SourceConnectionString = adminCs, Slot = PrivateSlot, Publication = PrivateSlot, Schemas = ["public"] }).RunAsync();

        var hba = Path.Combine(server.Directory, "data", "pg_hba.conf");
        await File.WriteAllTextAsync(hba,
            $"host all {WorkerRole} 127.0.0.1/32 scram-sha-256\nhost replication {WorkerRole} 127.0.0.1/32 scram-sha-256\n" + await File.ReadAllTextAsync(hba));
        await ExecuteAsync(admin, "SELECT pg_reload_conf()");
        var workerCs = $"Host=127.0.0.1;Port={server.Port};Username={WorkerRole};Password={Password};Database=faults";
        // The password is really checked now (the reload is asynchronous: wait for it).
        Assert.Equal(PostgresErrorCodes.InvalidPassword, await PollAsync(async () =>
        {
            await using var wrong = new NpgsqlConnection(workerCs.Replace(Password, "wrong"));
            try { await wrong.OpenAsync(); return ""; }
            catch (PostgresException e) { return e.SqlState; }
        }, s => s == PostgresErrorCodes.InvalidPassword, TimeSpan.FromSeconds(30)));
        return (admin, workerCs);
    }

    /// <summary>Runs a worker process while the workload writes for a while, lets it catch up, stops it gracefully.</summary>
    private async Task<OracleFigures> CaptureForAWhileAsync(NpgsqlDataSource source, string[] args, NpgsqlDataSource store, string slot)
    {
        using var worker = WorkerProcess.Start(args);
        await WriteForAsync(source, TimeSpan.FromSeconds(1.5));
        await WaitForCatchUpAsync(source, store, slot, worker);
        Assert.Equal(0, worker.Terminate(TimeSpan.FromSeconds(30)));
        Assert.DoesNotContain(Password, worker.Output);
        return await OracleFigures.ReadAsync(source);
    }

    private static async Task WriteForAsync(NpgsqlDataSource source, TimeSpan duration)
    {
        using var stop = new CancellationTokenSource(duration);
        await FaultWorkload.RunAsync(source, 7, stop.Token);
    }

    private static async Task WaitForCatchUpAsync(NpgsqlDataSource source, NpgsqlDataSource store, string slot, WorkerProcess worker)
    {
        var wait = CatchUp.WaitAsync(source, store, slot, Generous);
        while (!wait.IsCompleted)
        {
            if (worker.HasExited) throw new InvalidOperationException("worker exited:\n" + worker.Output);
            await Task.WhenAny(wait, Task.Delay(200));
        }
        await wait;
    }

    /// <summary>Waits until the stored end position passes <paramref name="beyond"/>; the server may still be starting.</summary>
    private static Task<ulong> WaitForProgressAsync(NpgsqlDataSource store, string slot, ulong beyond, WorkerProcess worker) =>
        WaitForProgressAsync(store, slot, beyond, 0, worker);

    /// <summary>Waits until the stored end position passes <paramref name="beyond"/> and <paramref name="marker"/> (a <see cref="CatchUp"/> marker).</summary>
    private static async Task<ulong> WaitForProgressAsync(NpgsqlDataSource store, string slot, ulong beyond, ulong marker, WorkerProcess worker)
    {
        var deadline = DateTime.UtcNow + Generous;
        while (true)
        {
            Assert.False(worker.HasExited, "the worker exited:\n" + worker.Output);
            try
            {
                var end = await StoredEndAsync(store, slot);
                if (end > beyond && end > marker) return end;
            }
            catch (NpgsqlException) { /* starting up */ }
            Assert.True(DateTime.UtcNow < deadline, "the worker stored nothing new in time:\n" + worker.Output);
            await Task.Delay(200);
        }
    }

    /// <summary>
    /// A <see cref="CatchUp"/> marker committed synchronously (so it is decoded without waiting for the WAL writer),
    /// written once the server accepts connections again.
    /// </summary>
    private static async Task<ulong> MarkAsync(NpgsqlDataSource source) =>
        await PollAsync(async () =>
        {
            try
            {
                return (ulong)NpgsqlLogSequenceNumber.Parse(await ScalarAsync<string>(source,
                    $"BEGIN; SET LOCAL synchronous_commit = on; SELECT pg_logical_emit_message(true, '{CatchUp.MarkerPrefix}', '')::text; COMMIT"));
            }
            catch (NpgsqlException) { await Task.Delay(300); return 0UL; }
        }, lsn => lsn > 0, Generous);

    private static async Task<ulong> StoredEndAsync(NpgsqlDataSource store, string slot)
    {
        await using var conn = await store.OpenConnectionAsync();
        return await StoredEndAsync(conn, slot);
    }

    private static async Task<ulong> StoredEndAsync(NpgsqlConnection store, string slot) =>
        (ulong)await ScalarAsync<long>(store, "SELECT coalesce(max(last_end_lsn), 0) FROM hindsight.progress WHERE slot = $1", slot);

    private static async Task<ulong> ConfirmedAsync(NpgsqlDataSource source, string slot) =>
        (ulong)NpgsqlLogSequenceNumber.Parse(await ScalarAsync<string>(source,
            "SELECT coalesce(confirmed_flush_lsn, '0/0')::text FROM pg_replication_slots WHERE slot_name = $1", slot));

    private static async Task<(long Xid, ulong Position)> XidAndPositionAsync(NpgsqlConnection conn, string sql)
    {
        await using var cmd = new NpgsqlCommand(sql + "SELECT txid_current() % 4294967296, pg_current_wal_insert_lsn()", conn);
        await using var r = await cmd.ExecuteReaderAsync();
        (long, ulong)? last = null;
        do
        {
            if (r.FieldCount == 2 && await r.ReadAsync()) last = (r.GetInt64(0), (ulong)r.GetFieldValue<NpgsqlLogSequenceNumber>(1));
        } while (await r.NextResultAsync());
        return last ?? throw new InvalidOperationException("no xid and position returned");
    }

    private static async Task<ulong> PositionAsync(NpgsqlConnection conn)
    {
        await using var cmd = new NpgsqlCommand("SELECT pg_current_wal_insert_lsn()", conn);
        return (ulong)(NpgsqlLogSequenceNumber)(await cmd.ExecuteScalarAsync())!;
    }

    private static async Task<T> PollAsync<T>(Func<Task<T>> read, Func<T, bool> done, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var value = await read();
            if (done(value) || DateTime.UtcNow > deadline) return value;
            await Task.Delay(200);
        }
    }

    private static async Task ExecuteAsync(NpgsqlDataSource db, string sql, params object[] parameters)
    {
        await using var cmd = db.CreateCommand(sql);
        foreach (var p in parameters) cmd.Parameters.AddWithValue(p);
        await cmd.ExecuteNonQueryAsync();
    }

    private static async Task ExecuteAsync(NpgsqlConnection conn, string sql)
    {
        await using var cmd = new NpgsqlCommand(sql, conn);
        await cmd.ExecuteNonQueryAsync();
    }

    private static async Task<T> ScalarAsync<T>(NpgsqlDataSource db, string sql, params object[] parameters)
    {
        await using var conn = await db.OpenConnectionAsync();
        return await ScalarAsync<T>(conn, sql, parameters);
    }

    private static async Task<T> ScalarAsync<T>(NpgsqlConnection conn, string sql, params object[] parameters)
    {
        await using var cmd = new NpgsqlCommand(sql, conn);
        foreach (var p in parameters) cmd.Parameters.AddWithValue(p);
        // With several statements, the scalar is the first column of the first row of the last result set that has one.
        await using var r = await cmd.ExecuteReaderAsync();
        object? value = null;
        do { if (await r.ReadAsync()) value = r.GetValue(0); } while (await r.NextResultAsync());
        return (T)Convert.ChangeType(value!, typeof(T));
    }

    private static int Count(string text, string what)
    {
        int n = 0, i = 0;
        while ((i = text.IndexOf(what, i, StringComparison.Ordinal)) >= 0) { n++; i += what.Length; }
        return n;
    }

    /// <summary>Runs a worker process until it exits on its own (or <see cref="Generous"/> passes): its exit code and output.</summary>
    private static (int? ExitCode, string Output) RunUntilExit(string[] args)
    {
        using var worker = WorkerProcess.Start(args);
        var exitCode = worker.WaitForExit(Generous);
        return (exitCode, worker.Output);
    }
}
