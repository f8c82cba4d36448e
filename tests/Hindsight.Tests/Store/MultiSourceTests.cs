using Hindsight.Capture;
using Hindsight.Embedded;
using Hindsight.Model;
using Hindsight.Query;
using Hindsight.Revert;
using Hindsight.Setup;
using Hindsight.Store;
using Hindsight.Tests.Infrastructure;
using Hindsight.Worker;
using Npgsql;
using Xunit;
using Xunit.Abstractions;

namespace Hindsight.Tests.Store;

/// <summary>
/// Two tracked databases on two servers, with the same database and table names, in one store: each change of each is
/// stored exactly once and carries its source, through SIGKILLs of both workers; history, as-of and revert of one never
/// see the other's rows. Checked against what each server itself recorded (oracle trigger, <c>to_jsonb</c>).
/// </summary>
[Collection(PostgresCollection.Name)]
[Trait("Category", "PostgreSQL")]
public sealed class MultiSourceTests(PostgresFixture fixture, ITestOutputHelper output)
{
    private const string Slot = "hindsight";

    // Slots are cluster-wide, and other tests share server A: each test's slot has a name of its own.
    private static string UniqueSlot() => $"multi_{Environment.ProcessId}_{Guid.NewGuid():N}"[..30];

    [Fact]
    public async Task Two_servers_with_the_same_names_share_a_store_and_lose_nothing_through_sigkills()
    {
        await using var serverB = await PrivatePostgresServer.StartAsync(new Dictionary<string, string> { ["max_wal_senders"] = "10" });
        var name = $"shop_{Environment.ProcessId}_{Guid.NewGuid():N}"[..24];
        var csA = await NamedDatabases.CreateAsync(fixture.Server, name);
        var csB = await NamedDatabases.CreateAsync(serverB, name);
        var store = await NamedDatabases.CreateAsync(fixture.Server, name + "_store");
        await using var a = NpgsqlDataSource.Create(csA);
        await using var b = NpgsqlDataSource.Create(csB);
        await using var s = NpgsqlDataSource.Create(store);
        await ExecAsync(a, FaultWorkload.Schema);
        await ExecAsync(b, FaultWorkload.Schema);

        // Server A far ahead of B in WAL: their commit LSNs must never be compared with each other.
        await ExecAsync(a, "CREATE TABLE scratch (x int)");
        for (var i = 0; i < 6; i++) await ExecAsync(a, "INSERT INTO scratch VALUES (1); SELECT pg_switch_wal()");

        var slot = UniqueSlot();
        await Setup(csA, store, null, slot);
        // The second database has the same name: its default source name is taken, and setup says how to name it.
        var refused = await Assert.ThrowsAsync<SetupException>(() => Setup(csB, store, null, slot));
        Assert.Contains("--source-name", refused.Message);
        Assert.Contains($"already has a source named '{name}'", refused.Message);
        var reportB = await Setup(csB, store, "b", slot);
        Assert.Equal("b", reportB.Source);

        using var stopWorkload = new CancellationTokenSource();
        var workloads = new[] { Task.Run(() => FaultWorkload.RunAsync(a, 0, stopWorkload.Token)), Task.Run(() => FaultWorkload.RunAsync(b, 0, stopWorkload.Token)) };
        string[] ArgsA() => ["--source", csA, "--store", store, "--slot", slot, "--publication", slot];
        string[] ArgsB() => ["--source", csB, "--store", store, "--slot", slot, "--publication", slot, "--source-name", "b"];
        var random = new Random(20261204);
        for (var kill = 1; kill <= 10; kill++)
        {
            using var workerA = WorkerProcess.Start(ArgsA());
            using var workerB = WorkerProcess.Start(ArgsB());
            await Task.Delay(random.Next(400, 1800));
            Assert.False(workerA.HasExited, "worker A exited on its own:\n" + workerA.Output);
            Assert.False(workerB.HasExited, "worker B exited on its own:\n" + workerB.Output);
            workerA.Kill();
            workerB.Kill();
        }
        await stopWorkload.CancelAsync();
        await Task.WhenAll(workloads);

        using (var lastA = WorkerProcess.Start(ArgsA()))
        using (var lastB = WorkerProcess.Start(ArgsB()))
        {
            await CatchUp.WaitAsync(a, s, slot, TimeSpan.FromSeconds(120));
            await CatchUp.WaitAsync(b, s, slot, TimeSpan.FromSeconds(120));
            Assert.Equal(0, lastA.Terminate(TimeSpan.FromSeconds(30)));
            Assert.Equal(0, lastB.Terminate(TimeSpan.FromSeconds(30)));
        }

        // Exactly once, per source, against each server's own record of its row changes.
        foreach (var (source, db) in new[] { (name, a), ("b", b) })
        {
            var stored = await SetAsync(s,
                "SELECT transaction_id || ' ' || ordinal || ' ' || \"table\" || ' ' || operation || ' ' || before::text || ' ' || after::text " +
                "FROM hindsight.changes WHERE source = $1", source);
            var oracle = await SetAsync(db,
                "SELECT xid % 4294967296 || ' ' || row_number() OVER (PARTITION BY xid ORDER BY seq) || ' ' || tbl || ' ' || op || ' ' || before::text || ' ' || after::text " +
                "FROM oracle.log", null);
            output.WriteLine($"source {source}: {oracle.Count} row changes recorded by PostgreSQL, {stored.Count} stored");
            Assert.True(oracle.Count > 200, "the workload should have made a real number of changes");
            Assert.Equal(oracle.Count, await ScalarAsync<long>(s, "SELECT count(*) FROM hindsight.changes WHERE source = $1", source));
            Assert.Empty(oracle.Except(stored));
            Assert.Empty(stored.Except(oracle));
            Assert.Equal(0L, await ScalarAsync<long>(s, "SELECT count(*) FROM hindsight.changes WHERE source = $1 AND database <> $2", source, name));
        }
        Assert.Equal(0L, await ScalarAsync<long>(s, "SELECT count(*) FROM hindsight.changes WHERE source NOT IN ($1, 'b')", name));
        Assert.Equal(2L, await ScalarAsync<long>(s, "SELECT count(DISTINCT system_identifier) FROM hindsight.sources"));

        // As-of of each source is that server's table as PostgreSQL holds it now; unscoped, the name is ambiguous.
        var trail = new AuditTrail(s);
        var accounts = new TableName("public", "accounts");
        foreach (var (source, db) in new[] { (name, a), ("b", b) })
        {
            var asOf = await trail.AsOfAsync(accounts, DateTimeOffset.UtcNow.AddMinutes(1), source: source);
            Assert.All(asOf.Rows, r => Assert.Equal(source, r.Source));
            var live = await SetAsync(db, "SELECT to_jsonb(t)::text FROM accounts t", null);
            var rebuilt = asOf.Rows.Select(r => System.Text.Encoding.UTF8.GetString(r.RowJson.Span)).ToHashSet();
            Assert.True(live.SetEquals(rebuilt), $"as-of of source {source} differs from its table");
        }
        await Assert.ThrowsAsync<AuditQueryException>(() => trail.AsOfAsync(accounts, DateTimeOffset.UtcNow.AddMinutes(1)));

        // Trends by source: each source's count, as PostgreSQL counts its stored changes.
        var bySource = (await new ChangeTrends(s).CountAsync(new ChangeFilter(), TrendBucket.Week, TrendGrouping.BySource))
            .GroupBy(p => p.Group).ToDictionary(g => g.Key!, g => g.Sum(p => p.Count));
        Assert.Equal(["b", name], bySource.Keys.Order(StringComparer.Ordinal));
        foreach (var source in new[] { name, "b" })
            Assert.Equal(await ScalarAsync<long>(s, "SELECT count(*) FROM hindsight.changes WHERE source = $1", source), bySource[source]);

        // History of a key both servers have: one source's versions only.
        var key = await ScalarAsync<int>(a, "SELECT min(id) FROM accounts");
        var history = await trail.HistoryAsync(accounts, key.ToString(System.Globalization.CultureInfo.InvariantCulture), source: name);
        Assert.NotEmpty(history.Versions);
        Assert.All(history.Versions, v => Assert.Equal(name, v.Change.Source));
        Assert.Equal(await ScalarAsync<long>(s, "SELECT count(*) FROM hindsight.changes WHERE source = $1 AND \"table\" = 'accounts' AND primary_key = $2", name, key.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            history.Versions.Count);

        // A revert on A plans from A's changes only: B's change ids are not A's to revert.
        var changeOfB = await ScalarAsync<long>(s, "SELECT max(id) FROM hindsight.changes WHERE source = 'b'");
        await Assert.ThrowsAsync<AuditQueryException>(() => new Reverter(s, a).PlanAsync(new RevertSelection { ChangeId = changeOfB }));
        var xidOfA = await ScalarAsync<long>(s, "SELECT transaction_id FROM hindsight.changes WHERE source = $1 ORDER BY id DESC LIMIT 1", name);
        var plan = await new Reverter(s, a).PlanAsync(new RevertSelection { TransactionId = xidOfA });
        Assert.NotEmpty(plan.Statements);
        Assert.All(plan.Statements, st => Assert.Equal(name, st.Change!.Source));

        // One chain per source, each whole through the kills; a change altered in A breaks A's chain only, and names it.
        var verifier = new Hindsight.Chain.TrailVerifier(s);
        var chains = await verifier.VerifyAsync();
        Assert.True(chains.Intact, string.Join("\n", chains.Breaks.Select(b => b.Detail)));
        Assert.Equal(["b", name], chains.Sources.Select(c => c.Source).Order(StringComparer.Ordinal));
        foreach (var c in chains.Sources) Assert.Equal(bySource[c.Source], c.VerifiedChanges);
        var alteredOfA = await ScalarAsync<long>(s, "SELECT min(id) FROM hindsight.changes WHERE source = $1 AND \"table\" = 'accounts'", name);
        await using (var alter = s.CreateCommand("UPDATE hindsight.changes SET after = after || '{\"balance\": 0}' WHERE id = $1"))
        {
            alter.Parameters.AddWithValue(alteredOfA);
            await alter.ExecuteNonQueryAsync();
        }
        var broken = await verifier.VerifyAsync();
        Assert.Equal(alteredOfA, Assert.Single(broken.Breaks).ChangeId);
        Assert.Equal(name, broken.Breaks[0].Source);
    }

    [Fact]
    public async Task A_store_from_before_sources_keeps_its_rows_under_the_database_they_came_from()
    {
        var name = $"legacy_{Environment.ProcessId}_{Guid.NewGuid():N}"[..24];
        var cs = await NamedDatabases.CreateAsync(fixture.Server, name);
        await using var db = NpgsqlDataSource.Create(cs);
        await ExecAsync(db, "CREATE TABLE t (id int PRIMARY KEY, v text)");
        // The store as the version before sources left it, with a change and a progress row.
        await ExecAsync(db, "CREATE SCHEMA hindsight; CREATE TABLE hindsight.schema_migrations (version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())");
        for (var v = 1; v <= 6; v++) await ExecAsync(db, StoreMigrations.All[v - 1] + $"; INSERT INTO hindsight.schema_migrations VALUES ({v})");
        await ExecAsync(db,
            $$"""
            INSERT INTO hindsight.changes (database, schema, "table", primary_key, operation, after, committed_at, transaction_id, position, commit_lsn, ordinal, queued_at)
            VALUES ('{{name}}', 'public', 't', '1', 'CREATE', '{"id": 1, "v": "old"}', now(), 700, 100, 100, 1, now());
            INSERT INTO hindsight.progress (slot, database, last_commit_lsn) VALUES ('{{Slot}}', '{{name}}', 100);
            """);

        var report = await new SetupRunner(new SetupOptions { SourceConnectionString = cs, Slot = name, Publication = name, Tables = ["t"] }).RunAsync();
        Assert.Contains(7, report.MigrationsApplied);
        Assert.Equal(name, report.Source);
        Assert.Equal(name, await ScalarAsync<string>(db, "SELECT source FROM hindsight.changes WHERE primary_key = '1'"));
        Assert.Equal(name, await ScalarAsync<string>(db, $"SELECT source FROM hindsight.progress WHERE slot = '{Slot}'"));
        // Setup claimed the carried-over source: its server's identifier is now recorded.
        Assert.Equal(await ScalarAsync<string>(db, "SELECT system_identifier::text FROM pg_control_system()"),
            await ScalarAsync<string>(db, "SELECT system_identifier FROM hindsight.sources WHERE name = $1", name));
        var history = await new AuditTrail(db).HistoryAsync(new TableName("public", "t"), "1", source: name);
        Assert.Single(history.Versions);
        await ExecAsync(db, $"SELECT pg_drop_replication_slot('{name}')");
    }

    [Fact]
    public async Task A_store_from_before_sources_with_two_databases_keeps_each_ones_rows_apart()
    {
        var name = $"legacy2_{Environment.ProcessId}_{Guid.NewGuid():N}"[..24];
        await using var db = NpgsqlDataSource.Create(await NamedDatabases.CreateAsync(fixture.Server, name));
        await ExecAsync(db, "CREATE SCHEMA hindsight; CREATE TABLE hindsight.schema_migrations (version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())");
        for (var v = 1; v <= 6; v++) await ExecAsync(db, StoreMigrations.All[v - 1] + $"; INSERT INTO hindsight.schema_migrations VALUES ({v})");
        await ExecAsync(db,
            """
            INSERT INTO hindsight.changes (database, schema, "table", primary_key, operation, after, committed_at, transaction_id, position, commit_lsn, ordinal, queued_at)
            SELECT d, 'public', 't', g::text, 'CREATE', jsonb_build_object('id', g), now(), g, g, g, 1, now()
            FROM unnest(ARRAY['x', 'y']) d, generate_series(1, 3) g;
            INSERT INTO hindsight.progress (slot, database) VALUES ('hindsight', 'x'), ('hindsight', 'y');
            """);
        await StoreMigrations.ApplyAsync(db);
        Assert.Equal(0L, await ScalarAsync<long>(db, "SELECT count(*) FROM hindsight.changes WHERE source IS DISTINCT FROM database"));
        Assert.Equal(0L, await ScalarAsync<long>(db, "SELECT count(*) FROM hindsight.progress WHERE source IS DISTINCT FROM database"));
        Assert.Equal("x,y", await ScalarAsync<string>(db, "SELECT string_agg(name || coalesce(system_identifier, ''), ',' ORDER BY name) FROM hindsight.sources"));
        // The same commit LSN and ordinal in both: the idempotency key is per source.
        Assert.Equal(6L, await ScalarAsync<long>(db, "SELECT count(DISTINCT (source, commit_lsn, ordinal)) FROM hindsight.changes"));
    }

    [Fact]
    public async Task A_role_that_may_not_read_the_system_identifier_is_identified_through_replication_or_by_database_name()
    {
        var name = $"ident_{Environment.ProcessId}_{Guid.NewGuid():N}"[..24];
        var cs = await NamedDatabases.CreateAsync(fixture.Server, name);
        await using var db = NpgsqlDataSource.Create(cs);
        var expected = await ScalarAsync<string>(db, "SELECT system_identifier::text FROM pg_control_system()");
        // As on managed servers that revoke it (functions are per database: only this one).
        await ExecAsync(db,
            $"""
            REVOKE EXECUTE ON FUNCTION pg_control_system() FROM PUBLIC;
            DO $$ BEGIN
              IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ident_repl') THEN CREATE ROLE ident_repl LOGIN REPLICATION; END IF;
              IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ident_plain') THEN CREATE ROLE ident_plain LOGIN; END IF;
            END $$;
            """);
        string As(string user) => new NpgsqlConnectionStringBuilder(cs) { Username = user, Pooling = false }.ConnectionString;

        await using (var repl = NpgsqlDataSource.Create(As("ident_repl")))
        {
            Assert.Equal(new SourceIdentity(null, name), await SourceIdentity.ReadAsync(repl, null, default));
            Assert.Equal(new SourceIdentity(expected, name), await SourceIdentity.ReadAsync(repl, As("ident_repl"), default));
        }
        await using var plain = NpgsqlDataSource.Create(As("ident_plain"));
        var unknown = await SourceIdentity.ReadAsync(plain, As("ident_plain"), default);
        Assert.Equal(new SourceIdentity(null, name), unknown);

        // A store that knows the database under its full identity still finds it by name, while that name is unambiguous.
        var store = await NamedDatabases.CreateAsync(fixture.Server, name + "_s");
        await using var s = NpgsqlDataSource.Create(store);
        await new SetupRunner(new SetupOptions { SourceConnectionString = store, Slot = name, Publication = name }).RunAsync();
        Assert.Equal(name, await SourceRegistry.RegisterAsync(s, new SourceIdentity(expected, name), null, default));
        Assert.Equal(name, await SourceRegistry.FindNameAsync(s, unknown, null, default));
        await SourceRegistry.RegisterAsync(s, new SourceIdentity("1234", name), "twin", default); // another server's database of that name
        var ambiguous = await Assert.ThrowsAsync<SourceNameException>(() => SourceRegistry.FindNameAsync(s, unknown, null, default));
        Assert.Contains("--source-name", ambiguous.Message);
        Assert.Equal("twin", await SourceRegistry.FindNameAsync(s, unknown, "twin", default));
        Assert.Equal("twin", await SourceRegistry.RegisterAsync(s, unknown, "twin", default));
        await Assert.ThrowsAsync<SourceNameException>(() => SourceRegistry.RegisterAsync(s, new SourceIdentity(expected, name), "twin", default));
        await ExecAsync(s, $"SELECT pg_drop_replication_slot('{name}')");
    }

    private static Task<SetupReport> Setup(string source, string store, string? sourceName, string slot) =>
        NamedDatabases.SetupSourceAsync(source, store, sourceName, slot, "accounts", "ledger");

    private static async Task ExecAsync(NpgsqlDataSource db, string sql)
    {
        await using var cmd = db.CreateCommand(sql);
        await cmd.ExecuteNonQueryAsync();
    }

    private static async Task<T> ScalarAsync<T>(NpgsqlDataSource db, string sql, params object[] parameters)
    {
        await using var cmd = db.CreateCommand(sql);
        foreach (var p in parameters) cmd.Parameters.AddWithValue(p);
        return (T)(await cmd.ExecuteScalarAsync())!;
    }

    private static async Task<HashSet<string>> SetAsync(NpgsqlDataSource db, string sql, string? parameter)
    {
        await using var cmd = db.CreateCommand(sql);
        if (parameter is not null) cmd.Parameters.AddWithValue(parameter);
        var set = new HashSet<string>();
        await using var r = await cmd.ExecuteReaderAsync();
        while (await r.ReadAsync()) Assert.True(set.Add(r.GetString(0)), "a row is there twice: " + r.GetString(0));
        return set;
    }
}
