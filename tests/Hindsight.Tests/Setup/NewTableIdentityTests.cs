using Hindsight.Setup;
using Hindsight.Tests.Infrastructure;
using Xunit;
using static Hindsight.Tests.Setup.SetupTestDatabases;

namespace Hindsight.Tests.Setup;

/// <summary>
/// Tables created after setup in a published schema get the replica identity setup gives tracked tables, in the
/// statement that creates them, so their UPDATEs and DELETEs keep full before-images (and, without a primary key, are
/// not rejected) without running setup again.
/// </summary>
[Collection(PostgresCollection.Name)]
[Trait("Category", "PostgreSQL")]
public sealed class NewTableIdentityTests(PostgresFixture fixture) : IAsyncLifetime
{
    private readonly SetupTestDatabases _dbs = new(fixture);

    public Task InitializeAsync() => Task.CompletedTask;
    public async Task DisposeAsync() => await _dbs.DisposeAsync();

    private const string Schema = "CREATE SCHEMA sales; CREATE TABLE public.existing (id int PRIMARY KEY);";

    // Every table of the later statements, as PostgreSQL names them, with its replica identity.
    private const string LaterTables =
        """
        CREATE TABLE public.later (id int PRIMARY KEY, v text);
        CREATE TABLE public.later_no_key (v text);
        CREATE TABLE sales."Weird ""Name"" ü" (v text);
        CREATE TABLE public.copied AS SELECT 1 AS x;
        SELECT 2 AS y INTO public.selected;
        CREATE TABLE sales.events (id int, at date, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
        CREATE TABLE sales.events_2024 PARTITION OF sales.events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
        CREATE SCHEMA other;
        CREATE TABLE other.untracked (v text);
        CREATE TEMP TABLE scratch (v text);
        """;

    private static async Task<Dictionary<string, string>> IdentitiesAsync(string cs) =>
        (await QueryAsync(cs,
            """
            SELECT n.nspname || '.' || c.relname, c.relreplident::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'p') AND n.nspname IN ('public', 'sales', 'other') ORDER BY 1
            """)).ToDictionary(r => r[0]!, r => r[1]!);

    private static SetupOptions Options(string cs, string slot, ReplicaIdentityMode mode = ReplicaIdentityMode.Full,
        string publication = "hindsight", string[]? tables = null) =>
        new() { SourceConnectionString = cs, Slot = slot, ReplicaIdentity = mode, Publication = publication, Tables = tables ?? [] };

    [Fact]
    public async Task Tables_created_later_in_a_published_schema_get_full_identity_at_once()
    {
        var (cs, slot) = await _dbs.CreateAsync(Schema);
        var report = await new SetupRunner(Options(cs, slot)).RunAsync();
        Assert.True(report.NewTablesGetReplicaIdentity);
        Assert.Contains(report.Notes, n => n.Contains(NewTableIdentity.NamePrefix, StringComparison.Ordinal));

        await ExecAsync(cs, LaterTables);

        var identities = await IdentitiesAsync(cs);
        foreach (var t in new[] { "public.later", "public.later_no_key", "sales.Weird \"Name\" ü", "public.copied", "public.selected", "sales.events", "sales.events_2024" })
            Assert.True(identities[t] == "f", $"{t}: {identities[t]}");
        Assert.Equal("d", identities["other.untracked"]); // a schema created later is not published
        // Published and with identity FULL, the keyless table takes UPDATE and DELETE (rejected under DEFAULT).
        await ExecAsync(cs, "INSERT INTO public.later_no_key VALUES ('a'); UPDATE public.later_no_key SET v = 'b'; DELETE FROM public.later_no_key");
        Assert.Equal(1L, await ScalarAsync<long>(cs,
            "SELECT count(*) FROM pg_publication_tables WHERE pubname = 'hindsight' AND schemaname = 'public' AND tablename = 'later_no_key'"));
    }

    [Fact]
    public async Task Under_replica_identity_default_only_tables_that_would_reject_updates_get_full()
    {
        var (cs, slot) = await _dbs.CreateAsync(Schema);
        await new SetupRunner(Options(cs, slot, ReplicaIdentityMode.Default)).RunAsync();

        await ExecAsync(cs, LaterTables);

        var identities = await IdentitiesAsync(cs);
        Assert.Equal("d", identities["public.later"]);
        Assert.Equal("f", identities["public.later_no_key"]);
        Assert.Equal("f", identities["public.copied"]);
        Assert.Equal("d", identities["sales.events"]);      // partitioned: it has a key, and it stores nothing itself
        Assert.Equal("d", identities["sales.events_2024"]); // the key comes with the partition
        await ExecAsync(cs, "INSERT INTO public.later_no_key VALUES ('a'); UPDATE public.later_no_key SET v = 'b'");
    }

    [Fact]
    public async Task A_table_list_installs_nothing_and_teardown_removes_the_trigger_with_the_last_publication()
    {
        var (cs, slot) = await _dbs.CreateAsync(Schema);
        const string count = "SELECT count(*) FROM pg_event_trigger WHERE evtname LIKE 'hindsight\\_new\\_table\\_identity\\_%'";

        // With --tables new tables are not published, so nothing is set on them.
        var listed = await new SetupRunner(Options(cs, slot, tables: ["public.existing"])).RunAsync();
        Assert.False(listed.NewTablesGetReplicaIdentity);
        Assert.Equal(0L, await ScalarAsync<long>(cs, count));

        // Two publications of whole schemas, a trigger each; tearing down one keeps the other's.
        await new SetupRunner(Options(cs, slot)).RunAsync();
        await new SetupRunner(Options(cs, slot + "_b", ReplicaIdentityMode.Default, publication: "it's \"second\"")).RunAsync();
        Assert.Equal(2L, await ScalarAsync<long>(cs, count));
        await new TeardownRunner(new TeardownOptions { SourceConnectionString = cs, Slot = slot }).RunAsync();
        Assert.Equal(1L, await ScalarAsync<long>(cs, count));
        await ExecAsync(cs, "CREATE TABLE public.a (id int PRIMARY KEY); CREATE TABLE public.b (v text)");
        Assert.Equal("d", (await IdentitiesAsync(cs))["public.a"]); // the second publication's rule: default
        Assert.Equal("f", (await IdentitiesAsync(cs))["public.b"]);

        var last = await new TeardownRunner(new TeardownOptions { SourceConnectionString = cs, Slot = slot + "_b", Publication = "it's \"second\"" }).RunAsync();
        Assert.Contains(last.Notes, n => n.Contains(NewTableIdentity.NamePrefix, StringComparison.Ordinal));
        Assert.Equal(0L, await ScalarAsync<long>(cs, count));
        Assert.Equal(0L, await ScalarAsync<long>(cs, "SELECT count(*) FROM pg_proc WHERE proname LIKE 'hindsight\\_new\\_table\\_identity\\_%'"));
        await ExecAsync(cs, "CREATE TABLE public.c (v text)");
        Assert.Equal("d", (await IdentitiesAsync(cs))["public.c"]);
    }

    [Fact]
    public async Task A_table_created_mid_stream_is_captured_with_full_before_images_without_running_setup_again()
    {
        await using var h = await CaptureHarness.CreateAsync(fixture, "CREATE TABLE t (id int PRIMARY KEY);");
        h.StartWorker();
        await h.ExecuteAsync("CREATE TABLE later (v text, n int)");
        await h.ExecuteAsync("INSERT INTO later VALUES ('a', 1), ('b', 2)");
        await h.ExecuteAsync("UPDATE later SET n = n + 10 WHERE v = 'a'");
        await h.ExecuteAsync("DELETE FROM later WHERE v = 'b'");
        await h.CatchUpAsync();

        var rows = await h.RowsAsync(
            "SELECT operation, before::text, after::text FROM hindsight.changes WHERE \"table\" = 'later' ORDER BY id");
        Assert.Equal(
            ["CREATE|{}|{\"n\": 1, \"v\": \"a\"}", "CREATE|{}|{\"n\": 2, \"v\": \"b\"}",
             "UPDATE|{\"n\": 1, \"v\": \"a\"}|{\"n\": 11, \"v\": \"a\"}", "DELETE|{\"n\": 2, \"v\": \"b\"}|{}"],
            rows.Select(r => string.Join("|", r)));
        Assert.Equal(0L, await h.ScalarAsync<long>(
            "SELECT count(*) FROM later l JOIN hindsight.changes c ON c.\"table\" = 'later' AND c.operation = 'UPDATE' WHERE c.after <> to_jsonb(l)"));
    }
}
