using Hindsight.Setup;
using Hindsight.Tests.Infrastructure;
using Hindsight.Tests.Setup;
using Npgsql;
using Xunit;
using static Hindsight.Tests.Setup.SetupTestDatabases;

namespace Hindsight.Tests.Bemi;

/// <summary>setup --bemi-compat and teardown: what is installed, idempotency, removal, roles, and the comment rule itself.</summary>
[Collection(PostgresCollection.Name)]
[Trait("Category", "PostgreSQL")]
public sealed class BemiSetupTests(PostgresFixture fixture) : IAsyncLifetime
{
    private readonly SetupTestDatabases _dbs = new(fixture);

    public Task InitializeAsync() => Task.CompletedTask;
    public async Task DisposeAsync() => await _dbs.DisposeAsync();

    private const string Schema =
        """
        CREATE TABLE t (id int PRIMARY KEY, v text);
        CREATE TABLE p (id int, k int, PRIMARY KEY (id, k)) PARTITION BY LIST (k);
        CREATE TABLE p1 PARTITION OF p FOR VALUES IN (1);
        """;

    /// <summary>Everything Bemi compatibility can leave in a database, as one sorted list.</summary>
    private const string Installed =
        """
        SELECT 'trigger ' || tgrelid::regclass::text FROM pg_trigger WHERE tgname = 'hindsight_bemi_context'
        UNION ALL SELECT 'event trigger ' || evtname FROM pg_event_trigger WHERE evtname LIKE 'hindsight\_bemi%'
        UNION ALL SELECT 'function ' || p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                  WHERE n.nspname = 'hindsight' AND p.proname LIKE 'bemi%'
        ORDER BY 1
        """;

    private static async Task<List<string>> InstalledAsync(string cs) => (await QueryAsync(cs, Installed)).Select(r => r[0]!).ToList();

    [Fact]
    public async Task Setup_installs_on_every_tracked_table_and_partition_and_a_second_run_changes_nothing()
    {
        var (cs, slot) = await _dbs.CreateAsync(Schema);
        var first = await new SetupRunner(new SetupOptions { SourceConnectionString = cs, Slot = slot, BemiCompat = true }).RunAsync();
        Assert.NotNull(first.BemiCompat);
        Assert.Equal(BemiObjectAction.Created, first.BemiCompat.Functions);
        Assert.Equal(BemiObjectAction.Created, first.BemiCompat.EventTrigger);
        Assert.Equal(["public.p", "public.p1", "public.t"], first.BemiCompat.TriggersInstalled);
        Assert.Contains("bemi compat  functions created; event trigger for new tables created; statement trigger installed now on 3", first.ToText());
        Assert.Equal(
        [
            "event trigger hindsight_bemi_new_tables",
            "function hindsight.bemi_attach(oid)", "function hindsight.bemi_context_of(text)",
            "function hindsight.bemi_context_trigger()", "function hindsight.bemi_on_ddl()",
            "function hindsight.bemi_skip_quoted(bytea,integer,integer,boolean)",
            "trigger p", "trigger p1", "trigger t",
        ], await InstalledAsync(cs));

        // "Changes nothing": not one catalog row of these objects is rewritten.
        const string versions =
            """
            SELECT string_agg(xmin::text, ',' ORDER BY oid) FROM (
                SELECT oid, xmin FROM pg_trigger WHERE tgname = 'hindsight_bemi_context'
                UNION ALL SELECT oid, xmin FROM pg_event_trigger
                UNION ALL SELECT oid, xmin FROM pg_proc WHERE proname LIKE 'bemi%') x
            """;
        var before = await ScalarAsync<string>(cs, versions);
        var second = await new SetupRunner(new SetupOptions { SourceConnectionString = cs, Slot = slot, BemiCompat = true }).RunAsync();
        Assert.Equal(BemiObjectAction.Unchanged, second.BemiCompat!.Functions);
        Assert.Equal(BemiObjectAction.Unchanged, second.BemiCompat.EventTrigger);
        Assert.Empty(second.BemiCompat.TriggersInstalled);
        Assert.Equal(["public.p", "public.p1", "public.t"], second.BemiCompat.TriggersInPlace);
        Assert.Contains("functions in place; event trigger for new tables in place; statement trigger already on all 3 tables and partitions", second.ToText());
        Assert.Equal(before, await ScalarAsync<string>(cs, versions));

        // Without the option, setup neither reports nor touches it.
        var plain = await new SetupRunner(new SetupOptions { SourceConnectionString = cs, Slot = slot }).RunAsync();
        Assert.Null(plain.BemiCompat);
        Assert.Equal(before, await ScalarAsync<string>(cs, versions));
    }

    [Fact]
    public async Task Setup_updates_functions_of_another_version()
    {
        var (cs, slot) = await _dbs.CreateAsync(Schema);
        await new SetupRunner(new SetupOptions { SourceConnectionString = cs, Slot = slot, BemiCompat = true }).RunAsync();
        await ExecAsync(cs, "COMMENT ON FUNCTION hindsight.bemi_context_trigger() IS 'hindsight bemi-compat 0000'; DROP EVENT TRIGGER hindsight_bemi_new_tables; DROP TRIGGER hindsight_bemi_context ON p1");
        var again = await new SetupRunner(new SetupOptions { SourceConnectionString = cs, Slot = slot, BemiCompat = true }).RunAsync();
        Assert.Equal(BemiObjectAction.Updated, again.BemiCompat!.Functions);
        Assert.Equal(BemiObjectAction.Created, again.BemiCompat.EventTrigger);
        Assert.Equal(["public.p1"], again.BemiCompat.TriggersInstalled);
    }

    [Fact]
    public async Task Teardown_removes_everything_setup_installed_and_is_idempotent()
    {
        var (cs, slot) = await _dbs.CreateAsync(Schema);
        await new SetupRunner(new SetupOptions { SourceConnectionString = cs, Slot = slot, BemiCompat = true }).RunAsync();
        await ExecAsync(cs, "CREATE TABLE later (id int PRIMARY KEY)");

        var report = await new TeardownRunner(new TeardownOptions { SourceConnectionString = cs, Slot = slot }).RunAsync();
        Assert.True(report.BemiCompatRemoved);
        Assert.Equal(["public.later", "public.p", "public.p1", "public.t"], report.BemiTriggersRemoved);
        Assert.Contains("bemi compat  removed: event trigger, functions and the trigger on 4 tables", report.ToText());
        Assert.Empty(await InstalledAsync(cs));
        // The store lives in this database, so schema hindsight stays.
        Assert.Equal(1L, await ScalarAsync<long>(cs, "SELECT count(*) FROM pg_namespace WHERE nspname = 'hindsight'"));
        // Writes with a Bemi comment still work without the trigger.
        await ExecAsync(cs, """INSERT INTO t VALUES (1, 'x') /*Bemi {"a":1} Bemi*/""");

        var again = await new TeardownRunner(new TeardownOptions { SourceConnectionString = cs, Slot = slot }).RunAsync();
        Assert.False(again.BemiCompatRemoved);
        Assert.DoesNotContain("bemi compat", again.ToText());
    }

    [Fact]
    public async Task With_the_store_elsewhere_the_source_gets_schema_hindsight_only_for_the_functions_and_teardown_drops_it()
    {
        var (cs, slot) = await _dbs.CreateAsync(Schema);
        var (storeCs, _) = await _dbs.CreateAsync();
        var report = await new SetupRunner(new SetupOptions
        {
            SourceConnectionString = cs, StoreConnectionString = storeCs, Slot = slot, BemiCompat = true,
        }).RunAsync();
        Assert.False(report.StoreInSource);
        Assert.Equal(BemiObjectAction.Created, report.BemiCompat!.Functions);
        Assert.Equal(0L, await ScalarAsync<long>(cs, "SELECT count(*) FROM pg_class WHERE relnamespace = 'hindsight'::regnamespace"));

        await new TeardownRunner(new TeardownOptions { SourceConnectionString = cs, StoreConnectionString = storeCs, Slot = slot }).RunAsync();
        Assert.Equal(0L, await ScalarAsync<long>(cs, "SELECT count(*) FROM pg_namespace WHERE nspname = 'hindsight'"));
        Assert.Equal(1L, await ScalarAsync<long>(storeCs, "SELECT count(*) FROM pg_namespace WHERE nspname = 'hindsight'"));
    }

    [Fact]
    public async Task A_role_that_is_not_superuser_gets_the_triggers_and_a_note_instead_of_the_event_trigger()
    {
        var (adminCs, slot) = await _dbs.CreateAsync();
        var role = "bemi_" + slot;
        var db = new NpgsqlConnectionStringBuilder(adminCs).Database!;
        await ExecAsync(adminCs,
            $"""
            CREATE ROLE {role} LOGIN REPLICATION;
            GRANT CREATE ON DATABASE "{db}" TO {role};
            GRANT CREATE ON SCHEMA public TO {role};
            SET ROLE {role};
            CREATE TABLE owned (id int PRIMARY KEY, v text);
            RESET ROLE;
            CREATE TABLE not_owned (id int PRIMARY KEY);
            """);
        var cs = new NpgsqlConnectionStringBuilder(adminCs) { Username = role }.ConnectionString;

        var report = await new SetupRunner(new SetupOptions { SourceConnectionString = cs, Slot = slot, Tables = ["owned"], BemiCompat = true }).RunAsync();
        Assert.Equal(BemiObjectAction.SkippedNotSuperuser, report.BemiCompat!.EventTrigger);
        Assert.Equal(["public.owned"], report.BemiCompat.TriggersInstalled);
        Assert.Contains(report.Notes, n => n.Contains("is not a superuser, so no event trigger was created", StringComparison.Ordinal));
        Assert.Contains("no event trigger (not a superuser)", report.ToText());
        // Nor the one that records schema changes: the note says what the trail will lack.
        Assert.False(report.SchemaChangesCaptured);
        Assert.Contains(report.Notes, n => n.Contains("could not create the event trigger that records schema changes", StringComparison.Ordinal));

        // A table the role may not put a trigger on is refused before anything changes.
        var refused = await Assert.ThrowsAsync<SetupException>(() =>
            new SetupRunner(new SetupOptions { SourceConnectionString = cs, Slot = slot, Tables = ["owned", "not_owned"], BemiCompat = true }).RunAsync());
        Assert.Contains("may not create triggers on public.not_owned", refused.Message);
        Assert.Equal(["public.owned"], (await QueryAsync(adminCs, "SELECT schemaname || '.' || tablename FROM pg_publication_tables")).Select(r => r[0]));
    }

    [Theory]
    [InlineData("""UPDATE t SET v = 'x' /*Bemi {"a":1} Bemi*/""", """{"a":1}""")]
    [InlineData("""UPDATE t SET v = 'x' /*Bemi {"a":1} Bemi*/ ;  """, """{"a":1}""")]
    [InlineData("""UPDATE t SET v = 'x'; /*Bemi {"a":1} Bemi*/""", """{"a":1}""")]
    [InlineData("""UPDATE t SET v = 'x' /*Bemi {"a":1} Bemi*/ /*Bemi {"a":2} Bemi*/""", """{"a":2}""")]
    [InlineData("""UPDATE t SET v = 'x' /*Bemi {"a":1} Bemi*/ WHERE id = 1""", null)]
    [InlineData("""UPDATE t SET v = '/*Bemi {"a":1} Bemi*/'""", null)]
    [InlineData("""UPDATE t SET v = E'\' /*Bemi {"a":1} Bemi*/'""", null)]
    [InlineData("""UPDATE t SET v = e'\' /*Bemi {"a":1} Bemi*/' /*Bemi {"ok":1} Bemi*/""", """{"ok":1}""")]
    [InlineData("""UPDATE t SET v = U&'\0041 /*Bemi {"a":1} Bemi*/'""", null)]
    [InlineData("""UPDATE t SET v = $$ /*Bemi {"a":1} Bemi*/$$""", null)]
    [InlineData("""UPDATE t SET v = $x$ $$ ' /*Bemi {"a":1} Bemi*/$x$ /*Bemi {"ok":1} Bemi*/""", """{"ok":1}""")]
    [InlineData("""UPDATE t SET v = $1 /*Bemi {"ok":1} Bemi*/""", """{"ok":1}""")]
    [InlineData("""UPDATE "t /*Bemi {""a"":1} Bemi*/" SET v = 'x'""", null)]
    [InlineData("""UPDATE t SET v = 'x' -- /*Bemi {"a":1} Bemi*/""", null)]
    [InlineData("""UPDATE t SET v = 'x' /* /*Bemi {"a":1} Bemi*/ */""", null)]
    [InlineData("""UPDATE t SET v = 'x' /*Bemi {"a":"/* nested */"} Bemi*/""", """{"a":"/* nested */"}""")]
    [InlineData("""UPDATE t SET v = 'x' /*Bemi  Bemi*/""", null)]
    [InlineData("""UPDATE t SET v = 'x' /*bemi {"a":1} bemi*/""", null)]
    [InlineData("""UPDATE t SET v = 'x' /*Bemi not json Bemi*/""", "not json")]
    // Several statements in one query string (simple protocol, e.g. psql -c): the trigger cannot tell which is running.
    [InlineData("""UPDATE t SET v = 'x'; UPDATE t SET v = 'y' /*Bemi {"a":1} Bemi*/""", null)]
    [InlineData("""UPDATE t SET v = 'x' /*Bemi {"a":1} Bemi*/; UPDATE t SET v = 'y' /*Bemi {"a":1} Bemi*/""", null)]
    public async Task The_comment_rule(string query, string? expected) =>
        Assert.Equal(expected, await ContextOfAsync(query, standardConformingStrings: true));

    [Fact]
    public async Task Backslashes_escape_quotes_in_plain_strings_when_standard_conforming_strings_is_off()
    {
        const string query = """UPDATE t SET v = '\' /*Bemi {"a":1} Bemi*/'""";
        Assert.Null(await ContextOfAsync(query, standardConformingStrings: false));
        Assert.Equal("""{"ok":1}""", await ContextOfAsync(query + """ /*Bemi {"ok":1} Bemi*/""", standardConformingStrings: false));
    }

    private static Task<string>? _functionsDb;

    /// <summary>What the trigger function would lift from <paramref name="query"/>, in a database holding only the functions.</summary>
    private async Task<string?> ContextOfAsync(string query, bool standardConformingStrings)
    {
        var cs = await LazyInitializer.EnsureInitialized(ref _functionsDb, async () =>
        {
            var db = await fixture.CreateDatabaseAsync("bemi");
            await ExecAsync(db, "CREATE SCHEMA hindsight;\n" + BemiCompat.FunctionsSql);
            return db;
        });
        await using var conn = new NpgsqlConnection(cs);
        await conn.OpenAsync();
        await using (var set = new NpgsqlCommand($"SET standard_conforming_strings = {(standardConformingStrings ? "on" : "off")}", conn))
            await set.ExecuteNonQueryAsync();
        await using var cmd = new NpgsqlCommand("SELECT hindsight.bemi_context_of($1)", conn);
        cmd.Parameters.AddWithValue(query);
        return await cmd.ExecuteScalarAsync() as string;
    }
}
