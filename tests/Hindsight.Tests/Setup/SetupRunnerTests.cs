using Hindsight.Configuration;
using Hindsight.Setup;
using Hindsight.Tests.Infrastructure;
using Xunit;
using static Hindsight.Tests.Setup.SetupTestDatabases;

namespace Hindsight.Tests.Setup;

[Collection(PostgresCollection.Name)]
[Trait("Category", "PostgreSQL")]
public sealed class SetupRunnerTests(PostgresFixture fixture) : IAsyncLifetime
{
    private readonly SetupTestDatabases _dbs = new(fixture);

    public Task InitializeAsync() => Task.CompletedTask;
    public async Task DisposeAsync() => await _dbs.DisposeAsync();

    private const string ShopSchema =
        """
        CREATE SCHEMA sales;
        CREATE TABLE public.customers (id int PRIMARY KEY, name text);
        CREATE TABLE public.notes (body text);                                   -- no primary key
        CREATE TABLE sales.orders (id int, line int, qty int, PRIMARY KEY (id, line));
        CREATE TABLE sales.events (id int, at date NOT NULL, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
        CREATE TABLE sales.events_2024 PARTITION OF sales.events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
        CREATE TABLE public.events_2025 PARTITION OF sales.events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01') PARTITION BY RANGE (at);
        CREATE TABLE public.events_2025_h1 PARTITION OF public.events_2025 FOR VALUES FROM ('2025-01-01') TO ('2025-07-01');
        CREATE UNLOGGED TABLE public.scratch (x int);
        CREATE VIEW public.customer_names AS SELECT name FROM public.customers;
        """;

    private static SetupOptions Options(string cs, string slot, Action<SetupOptionsBuilder>? configure = null)
    {
        var b = new SetupOptionsBuilder();
        configure?.Invoke(b);
        return new SetupOptions
        {
            SourceConnectionString = cs,
            Slot = slot,
            Tables = b.Tables,
            Schemas = b.Schemas,
            ExcludeTables = b.Exclude,
            ReplicaIdentity = b.Identity,
            Publication = b.Publication,
        };
    }

    private sealed class SetupOptionsBuilder
    {
        public string[] Tables = [];
        public string[] Schemas = [];
        public string[] Exclude = [];
        public ReplicaIdentityMode Identity = ReplicaIdentityMode.Full;
        public string Publication = ConnectionOptions.DefaultPublication;
    }

    [Fact]
    public async Task Default_setup_publishes_user_tables_never_the_store_and_is_idempotent()
    {
        var (cs, slot) = await _dbs.CreateAsync(ShopSchema);

        var first = await new SetupRunner(Options(cs, slot)).RunAsync();
        Assert.Equal(PublicationAction.Created, first.PublicationAction);
        Assert.True(first.SlotCreated);
        Assert.Equal(Enumerable.Range(1, Hindsight.Store.StoreMigrations.LatestVersion), first.MigrationsApplied);

        var expected = new List<string> { "public.customers", "public.notes", "sales.events", "sales.orders" };
        Assert.Equal(expected, await PublicationTablesAsync(cs));
        // The store's tables exist, and are not published.
        Assert.Equal(1L, await ScalarAsync<long>(cs, "SELECT count(*) FROM pg_class WHERE oid = 'hindsight.changes'::regclass"));
        Assert.Equal(0L, await ScalarAsync<long>(cs, "SELECT count(*) FROM pg_publication_tables WHERE schemaname = 'hindsight'"));
        // FOR TABLES IN SCHEMA public, sales: the store's schema is not among them.
        Assert.Equal(["public", "sales"], (await QueryAsync(cs,
            "SELECT n.nspname FROM pg_publication_namespace pn JOIN pg_publication p ON p.oid = pn.pnpubid JOIN pg_namespace n ON n.oid = pn.pnnspid WHERE p.pubname = 'hindsight' ORDER BY 1"))
            .Select(r => r[0]));
        Assert.Equal("True", (await QueryAsync(cs, "SELECT pubviaroot, puballtables FROM pg_publication WHERE pubname = 'hindsight'"))[0][0]);

        // The slot: logical, pgoutput, this database.
        var slotRow = (await QueryAsync(cs, "SELECT plugin, slot_type, database FROM pg_replication_slots WHERE slot_name = $1", slot)).Single();
        Assert.Equal("pgoutput", slotRow[0]);
        Assert.Equal("logical", slotRow[1]);
        Assert.Equal(await ScalarAsync<string>(cs, "SELECT current_database()"), slotRow[2]);

        // Second run: nothing changes.
        var second = await new SetupRunner(Options(cs, slot)).RunAsync();
        Assert.Equal(PublicationAction.Unchanged, second.PublicationAction);
        Assert.False(second.SlotCreated);
        Assert.Empty(second.MigrationsApplied);
        Assert.Empty(second.ReplicaIdentityChanged);
        Assert.Equal(expected, await PublicationTablesAsync(cs));
        Assert.Equal(1L, await ScalarAsync<long>(cs, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = $1", slot));
        Assert.Equal((long)Hindsight.Store.StoreMigrations.LatestVersion, await ScalarAsync<long>(cs, "SELECT count(*) FROM hindsight.schema_migrations"));

        // Partitioned tables are reported once, under their root.
        var events = second.Tables.Single(t => t.Name == "events");
        Assert.True(events.Partitioned);
        Assert.Equal(2, events.Partitions);
        Assert.DoesNotContain(second.Tables, t => t.Name.StartsWith("events_", StringComparison.Ordinal));
        Assert.Contains(second.Notes, n => n.Contains("public.scratch", StringComparison.Ordinal)); // unlogged: said, not published

        // A table created later in a published schema is followed; the store still is not.
        await ExecAsync(cs, "CREATE TABLE public.later (id int PRIMARY KEY)");
        Assert.Contains("public.later", await PublicationTablesAsync(cs));
        Assert.Equal(0L, await ScalarAsync<long>(cs, "SELECT count(*) FROM pg_publication_tables WHERE schemaname = 'hindsight'"));
    }

    [Fact]
    public async Task Replica_identity_is_full_on_tables_partitioned_parents_and_every_partition()
    {
        var (cs, slot) = await _dbs.CreateAsync(ShopSchema);
        await new SetupRunner(Options(cs, slot)).RunAsync();

        var rows = await QueryAsync(cs,
            """
            SELECT n.nspname || '.' || c.relname, c.relreplident::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'p') AND n.nspname IN ('public', 'sales') AND c.relpersistence = 'p' ORDER BY 1
            """);
        Assert.Equal(
            ["public.customers", "public.events_2025", "public.events_2025_h1", "public.notes", "sales.events", "sales.events_2024", "sales.orders"],
            rows.Select(r => r[0]));
        Assert.All(rows, r => Assert.Equal("f", r[1]));
        // The store's own tables are left alone.
        Assert.Equal("d", await ScalarAsync<string>(cs, "SELECT relreplident::text FROM pg_class WHERE oid = 'hindsight.changes'::regclass"));
    }

    [Fact]
    public async Task Replica_identity_default_keeps_identities_but_fixes_tables_that_would_reject_updates()
    {
        var (cs, slot) = await _dbs.CreateAsync(ShopSchema);
        var report = await new SetupRunner(Options(cs, slot, o => o.Identity = ReplicaIdentityMode.Default)).RunAsync();

        Assert.Equal("d", await ScalarAsync<string>(cs, "SELECT relreplident::text FROM pg_class WHERE oid = 'public.customers'::regclass"));
        Assert.Equal("d", await ScalarAsync<string>(cs, "SELECT relreplident::text FROM pg_class WHERE oid = 'sales.events_2024'::regclass"));
        // No primary key: published with DEFAULT, its UPDATEs would fail, so it gets FULL.
        Assert.Equal("f", await ScalarAsync<string>(cs, "SELECT relreplident::text FROM pg_class WHERE oid = 'public.notes'::regclass"));
        await ExecAsync(cs, "INSERT INTO public.notes VALUES ('a'); UPDATE public.notes SET body = 'b'");

        var note = Assert.Single(report.Notes, n => n.Contains("before-images are lost", StringComparison.Ordinal));
        Assert.Contains("UPDATE", note);
        Assert.Contains("DELETE", note);
        Assert.Contains("TOAST", note);
        Assert.Contains("public.customers", note);
    }

    [Fact]
    public async Task Tables_option_publishes_exactly_those_tables()
    {
        var (cs, slot) = await _dbs.CreateAsync(ShopSchema);
        // unqualified (search_path), qualified, a partitioned root; comma-separated and repeated
        var report = await new SetupRunner(Options(cs, slot, o => o.Tables = ["customers, sales.events", "SALES.Orders"])).RunAsync();
        Assert.True(report.ExplicitTableList);
        Assert.Equal(["public.customers", "sales.events", "sales.orders"], await PublicationTablesAsync(cs));
        Assert.Equal(0L, await ScalarAsync<long>(cs,
            "SELECT count(*) FROM pg_publication_namespace pn JOIN pg_publication p ON p.oid = pn.pnpubid WHERE p.pubname = 'hindsight'"));
        // Only tracked tables got FULL.
        Assert.Equal("d", await ScalarAsync<string>(cs, "SELECT relreplident::text FROM pg_class WHERE oid = 'public.notes'::regclass"));
        Assert.Equal("f", await ScalarAsync<string>(cs, "SELECT relreplident::text FROM pg_class WHERE oid = 'public.events_2025_h1'::regclass"));

        // Running again with another list updates the publication in place.
        var again = await new SetupRunner(Options(cs, slot, o => o.Tables = ["public.notes"])).RunAsync();
        Assert.Equal(PublicationAction.Updated, again.PublicationAction);
        Assert.Equal(["public.notes"], await PublicationTablesAsync(cs));
    }

    [Fact]
    public async Task Schemas_option_publishes_exactly_the_schemas_tables()
    {
        var (cs, slot) = await _dbs.CreateAsync(ShopSchema);
        await new SetupRunner(Options(cs, slot, o => o.Schemas = ["sales"])).RunAsync();
        // sales.events is the root of partitions that live in public too: published once, via the root.
        Assert.Equal(["sales.events", "sales.orders"], await PublicationTablesAsync(cs));
        Assert.Equal("f", await ScalarAsync<string>(cs, "SELECT relreplident::text FROM pg_class WHERE oid = 'public.events_2025_h1'::regclass"));
        Assert.Equal("d", await ScalarAsync<string>(cs, "SELECT relreplident::text FROM pg_class WHERE oid = 'public.customers'::regclass"));

        // Tables plus schemas.
        await new SetupRunner(Options(cs, slot, o => { o.Schemas = ["sales"]; o.Tables = ["public.customers"]; })).RunAsync();
        Assert.Equal(["public.customers", "sales.events", "sales.orders"], await PublicationTablesAsync(cs));
    }

    [Fact]
    public async Task Exclude_tables_lists_tables_one_by_one_and_says_new_tables_are_not_followed()
    {
        var (cs, slot) = await _dbs.CreateAsync(ShopSchema);
        var report = await new SetupRunner(Options(cs, slot, o => o.Exclude = ["notes", "sales.orders"])).RunAsync();
        Assert.Equal(["public.customers", "sales.events"], await PublicationTablesAsync(cs));
        Assert.Equal(["public.customers", "sales.events"], (await QueryAsync(cs,
            """
            SELECT n.nspname || '.' || c.relname FROM pg_publication_rel pr JOIN pg_publication p ON p.oid = pr.prpubid
            JOIN pg_class c ON c.oid = pr.prrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE p.pubname = 'hindsight' ORDER BY 1
            """)).Select(r => r[0]));
        Assert.True(report.ExplicitTableList);
        Assert.Contains(report.Notes, n => n.Contains("NOT tracked", StringComparison.Ordinal));

        await ExecAsync(cs, "CREATE TABLE public.later (id int PRIMARY KEY)");
        Assert.DoesNotContain("public.later", await PublicationTablesAsync(cs));

        // Schemas with an exclusion.
        await new SetupRunner(Options(cs, slot, o => { o.Schemas = ["sales"]; o.Exclude = ["sales.events"]; })).RunAsync();
        Assert.Equal(["sales.orders"], await PublicationTablesAsync(cs));
    }

    [Fact]
    public async Task An_existing_for_all_tables_publication_is_replaced()
    {
        var (cs, slot) = await _dbs.CreateAsync("CREATE TABLE t (id int PRIMARY KEY); CREATE PUBLICATION hindsight FOR ALL TABLES;");
        var report = await new SetupRunner(Options(cs, slot)).RunAsync();
        Assert.Equal(PublicationAction.Recreated, report.PublicationAction);
        Assert.Equal("False", await ScalarAsync<string>(cs, "SELECT puballtables FROM pg_publication WHERE pubname = 'hindsight'"));
        Assert.Equal(["public.t"], await PublicationTablesAsync(cs));
    }

    [Fact]
    public async Task Weird_identifiers_work()
    {
        var (cs, slot) = await _dbs.CreateAsync(
            """
            CREATE SCHEMA "My Schema";
            CREATE TABLE "My Schema"."Weird ""Q"" Ü, select" (id int PRIMARY KEY, "from" text);
            CREATE TABLE "My Schema"."order" (id int PRIMARY KEY);
            CREATE TABLE public."User" (id int PRIMARY KEY);
            CREATE TABLE public."日本語 テーブル" (id int PRIMARY KEY);
            """);
        var report = await new SetupRunner(Options(cs, slot, o =>
        {
            o.Tables = ["\"My Schema\".\"Weird \"\"Q\"\" Ü, select\"", "\"My Schema\".order", "User", "\"日本語 テーブル\""];
            o.Publication = "Audit Pub \"1\"";
        })).RunAsync();
        Assert.Equal(4, report.Tables.Count);
        var published = await PublicationTablesAsync(cs, "Audit Pub \"1\"");
        Assert.Equal(["My Schema.Weird \"Q\" Ü, select", "My Schema.order", "public.User", "public.日本語 テーブル"], published);
        Assert.Equal(0L, await ScalarAsync<long>(cs,
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname IN ('My Schema', 'public') AND c.relkind = 'r' AND c.relreplident <> 'f'"));

        // The whole schema, by its quoted name.
        await new SetupRunner(Options(cs, slot, o => { o.Schemas = ["\"My Schema\""]; o.Publication = "Audit Pub \"1\""; })).RunAsync();
        Assert.Equal(["My Schema.Weird \"Q\" Ü, select", "My Schema.order"], await PublicationTablesAsync(cs, "Audit Pub \"1\""));
    }

    [Theory]
    [InlineData("tables", "nosuch", "table nosuch does not exist")]
    [InlineData("tables", "nosuchschema.customers", "schema nosuchschema does not exist")]
    [InlineData("tables", "customer_names", "is a view, not a table")]
    [InlineData("tables", "scratch", "unlogged")]
    [InlineData("tables", "sales.events_2024", "is a partition of sales.events")]
    [InlineData("tables", "hindsight.changes", "does not exist")]
    [InlineData("tables", "pg_catalog.pg_class", "system table")]
    [InlineData("tables", "a.b.c", "expected table or schema.table")]
    [InlineData("tables", "\"unterminated", "unterminated")]
    [InlineData("schemas", "nosuch", "schema nosuch does not exist")]
    [InlineData("schemas", "pg_catalog", "system schema")]
    [InlineData("exclude", "nosuch", "table nosuch does not exist")]
    [InlineData("exclude", "sales.events_2024", "cannot be left out")]
    [InlineData("slot", "Bad-Slot", "invalid slot name")]
    public async Task Bad_input_fails_clearly_and_changes_nothing(string what, string value, string message)
    {
        var (cs, slot) = await _dbs.CreateAsync(ShopSchema);
        var options = Options(cs, what == "slot" ? value : slot, o =>
        {
            if (what == "tables") o.Tables = [value];
            if (what == "schemas") o.Schemas = [value];
            if (what == "exclude") o.Exclude = [value];
        });
        var e = await Assert.ThrowsAsync<SetupException>(() => new SetupRunner(options).RunAsync());
        Assert.Contains(message, e.Message);

        Assert.Equal(0L, await ScalarAsync<long>(cs, "SELECT count(*) FROM pg_publication"));
        Assert.Equal(0L, await ScalarAsync<long>(cs, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = $1", slot));
        Assert.Equal(0L, await ScalarAsync<long>(cs, "SELECT count(*) FROM pg_namespace WHERE nspname = 'hindsight'"));
        Assert.Equal(0L, await ScalarAsync<long>(cs,
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname IN ('public', 'sales') AND c.relreplident = 'f'"));
    }

    [Fact]
    public async Task The_store_schema_is_refused_as_a_schema_to_track()
    {
        var (cs, slot) = await _dbs.CreateAsync(ShopSchema);
        await new SetupRunner(Options(cs, slot)).RunAsync();
        var e = await Assert.ThrowsAsync<SetupException>(() => new SetupRunner(Options(cs, slot, o => o.Schemas = ["hindsight"])).RunAsync());
        Assert.Contains("never tracked", e.Message);
        var t = await Assert.ThrowsAsync<SetupException>(() => new SetupRunner(Options(cs, slot, o => o.Tables = ["hindsight.changes"])).RunAsync());
        Assert.Contains("never tracked", t.Message);
    }

    [Fact]
    public async Task A_separate_store_gets_the_schema_and_the_source_does_not()
    {
        var (cs, slot) = await _dbs.CreateAsync("CREATE TABLE t (id int PRIMARY KEY)");
        var (storeCs, _) = await _dbs.CreateAsync();
        var report = await new SetupRunner(new SetupOptions { SourceConnectionString = cs, StoreConnectionString = storeCs, Slot = slot }).RunAsync();
        Assert.False(report.StoreInSource);
        // The source holds none of the store: its schema hindsight has only the functions of the event triggers that give new
        // tables their replica identity and put schema changes in the WAL.
        Assert.Equal(0L, await ScalarAsync<long>(cs, "SELECT count(*) FROM pg_class WHERE relnamespace = 'hindsight'::regnamespace"));
        Assert.Equal([NewTableIdentity.EventTriggerName(ConnectionOptions.DefaultPublication) + "()",
                      SchemaChangeTrigger.EventTriggerName(ConnectionOptions.DefaultPublication) + "()"],
            (await QueryAsync(cs, "SELECT p.oid::regprocedure::text FROM pg_proc p WHERE p.pronamespace = 'hindsight'::regnamespace ORDER BY 1"))
                .Select(r => r[0]!.Replace("hindsight.", "", StringComparison.Ordinal)));
        Assert.Equal((long)Hindsight.Store.StoreMigrations.LatestVersion, await ScalarAsync<long>(storeCs, "SELECT count(*) FROM hindsight.schema_migrations"));
        Assert.Equal(["public.t"], await PublicationTablesAsync(cs));
    }

    [Fact]
    public async Task A_slot_of_another_database_is_not_taken_over()
    {
        var (cs1, slot) = await _dbs.CreateAsync("CREATE TABLE t (id int PRIMARY KEY)");
        var (cs2, _) = await _dbs.CreateAsync("CREATE TABLE t (id int PRIMARY KEY)");
        await new SetupRunner(Options(cs1, slot)).RunAsync();
        var e = await Assert.ThrowsAsync<SetupException>(() => new SetupRunner(Options(cs2, slot)).RunAsync());
        Assert.Contains("belongs to database", e.Message);
        Assert.Equal(0L, await ScalarAsync<long>(cs2, "SELECT count(*) FROM pg_publication"));
    }
}
