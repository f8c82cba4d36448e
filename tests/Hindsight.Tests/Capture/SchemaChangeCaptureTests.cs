using Hindsight.Tests.Infrastructure;
using Xunit;

namespace Hindsight.Tests.Capture;

/// <summary>
/// Schema changes of tracked tables reach the trail through the WAL: each with its statement exactly as sent, the
/// session's role, the transaction's context and the columns the table has after it, compared with what PostgreSQL's
/// catalog said right after the command. Rolled-back DDL leaves no trace, also inside a streamed transaction.
/// </summary>
[Collection(PostgresCollection.Name)]
[Trait("Category", "PostgreSQL")]
public sealed class SchemaChangeCaptureTests(PostgresFixture fixture)
{
    private const string Schema =
        """
        CREATE TABLE person (id int PRIMARY KEY, email text, age int);
        INSERT INTO person VALUES (1, 'a@x', 30), (2, 'b@x', 40);
        """;

    // The columns PostgreSQL's catalog gives a table now, as the trail should hold them (name and type, in attnum order).
    private const string CatalogColumns =
        """
        SELECT string_agg(a.attnum || ':' || a.attname || ':' || format_type(a.atttypid, a.atttypmod), ',' ORDER BY a.attnum)
        FROM pg_attribute a WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped
        """;

    private const string StoredColumns =
        """
        SELECT string_agg((c ->> 'attnum') || ':' || (c ->> 'name') || ':' || (c ->> 'type'), ',' ORDER BY (c ->> 'attnum')::int)
        FROM jsonb_array_elements($1::jsonb) c
        """;

    [Fact]
    public async Task Each_schema_change_is_recorded_with_its_statement_context_and_columns()
    {
        await using var h = await CaptureHarness.CreateAsync(fixture, Schema);
        var report = await h.SetupAsync();
        Assert.True(report.SchemaChangesCaptured);
        h.StartWorker();

        // (statement, table it leaves, expected tag); each in its own transaction with a context message first.
        const string weird = "/* it's a \"comment\" */ ALTER TABLE people ADD COLUMN \"Straße \"\"q\"\" ü\" text DEFAULT 'it''s' -- trailing ü";
        var steps = new (string Sql, string Table, string Tag)[]
        {
            ("ALTER TABLE person RENAME COLUMN email TO contact_email", "public.person", "ALTER TABLE"),
            ("ALTER TABLE person ADD COLUMN nick text DEFAULT 'n'", "public.person", "ALTER TABLE"),
            ("ALTER TABLE person DROP COLUMN age", "public.person", "ALTER TABLE"),
            ("ALTER TABLE person ALTER COLUMN id TYPE bigint", "public.person", "ALTER TABLE"),
            ("ALTER TABLE person RENAME TO people", "public.people", "ALTER TABLE"),
            (weird, "public.people", "ALTER TABLE"),
            ("CREATE TABLE later (id int PRIMARY KEY, v text)", "public.later", "CREATE TABLE"),
        };
        var expected = new List<(string Tag, string Sql, string Columns, string User)>();
        var n = 0;
        foreach (var (sql, table, tag) in steps)
        {
            var user = $"user{++n}";
            await InTransactionAsync(h,
                $"SELECT pg_logical_emit_message(true, 'hindsight', '{{\"userId\":\"{user}\",\"migration\":\"m{n}\"}}')", sql);
            expected.Add((tag, sql, await h.ScalarAsync<string>(CatalogColumns, table), user));
        }
        await h.ExecuteAsync("DROP TABLE later");
        // Not tracked: a table outside the published schema, and DDL that rolled back (whole, or to a savepoint).
        await h.ExecuteAsync("CREATE SCHEMA other; CREATE TABLE other.t (v int); DROP TABLE other.t;");
        await h.ExecuteAsync("BEGIN; ALTER TABLE people ADD COLUMN ghost int; ROLLBACK;");
        await h.ExecuteAsync("BEGIN; SAVEPOINT s; ALTER TABLE people ADD COLUMN ghost2 int; ROLLBACK TO s; INSERT INTO people (id) VALUES (3); COMMIT;");
        await h.CatchUpAsync();

        var rows = await h.RowsAsync(
            """
            SELECT command_tag, coalesce(statement, ''), coalesce(columns::text, '[]'), coalesce(context ->> 'userId', ''),
                   schema || '.' || "table", role, coalesce(context ->> 'migration', '')
            FROM hindsight.schema_changes ORDER BY commit_lsn, ordinal
            """);
        // The setup snapshot: the columns the table had when tracking began.
        Assert.Equal("SNAPSHOT", rows[0][0]);
        Assert.Equal("public.person", rows[0][4]);
        Assert.Equal("1:id:integer,2:email:text,3:age:integer", await h.ScalarAsync<string>(StoredColumns, rows[0][2]));
        var changes = rows.Where(r => r[0] != "SNAPSHOT").ToList();
        Assert.Equal(expected.Count + 1, changes.Count); // + the drop of later
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].Tag, changes[i][0]);
            Assert.Equal(expected[i].Sql, changes[i][1]);
            Assert.Equal(expected[i].Columns, await h.ScalarAsync<string>(StoredColumns, changes[i][2]));
            Assert.Equal(expected[i].User, changes[i][3]);
            Assert.Equal($"m{i + 1}", changes[i][6]);
            Assert.Equal(await h.ScalarAsync<string>("SELECT session_user::text"), changes[i][5]);
        }
        Assert.Equal(["DROP TABLE", "DROP TABLE later", "[]", "public.later"], changes[^1][..3].Append(changes[^1][4]));
        Assert.DoesNotContain(rows, r => r[1].Contains("ghost", StringComparison.Ordinal) || r[2].Contains("ghost", StringComparison.Ordinal));
        Assert.DoesNotContain(rows, r => r[4] == "other.t");

        // One table across renames (same OID), and the value rows written before the column read.
        Assert.Equal(1L, await h.ScalarAsync<long>("SELECT count(DISTINCT relid) FROM hindsight.schema_changes WHERE \"table\" IN ('person', 'people')"));
        Assert.Equal("\"n\"", await h.ScalarAsync<string>(
            "SELECT c -> 'missing' FROM hindsight.schema_changes, jsonb_array_elements(columns) c WHERE c ->> 'name' = 'nick' ORDER BY id LIMIT 1"));
        await h.StopWorkerAsync();
    }

    /// <summary>Runs each statement as its own command (so the server sees it exactly as written) in one transaction.</summary>
    private static async Task InTransactionAsync(CaptureHarness h, params string[] statements)
    {
        await using var conn = await h.Source.OpenConnectionAsync();
        await using var tx = await conn.BeginTransactionAsync();
        foreach (var sql in statements)
        {
            await using var cmd = new Npgsql.NpgsqlCommand(sql, conn, tx);
            await cmd.ExecuteNonQueryAsync();
        }
        await tx.CommitAsync();
    }

    [Fact]
    public async Task A_table_dropped_while_the_worker_was_down_keeps_its_key()
    {
        await using var h = await CaptureHarness.CreateAsync(fixture, Schema);
        h.StartWorker();
        await h.ExecuteAsync("CREATE TABLE brief (code text, n int, PRIMARY KEY (n, code))");
        await h.CatchUpAsync();
        // Until the slot is acknowledged past the CREATE, a restart would read it again (and learn the key from the WAL).
        for (var i = 0; i < 100 && !await h.ScalarAsync<bool>(
                 $"SELECT confirmed_flush_lsn > '0/0'::pg_lsn + (SELECT max(commit_lsn) FROM hindsight.schema_changes WHERE \"table\" = 'brief') " +
                 $"FROM pg_replication_slots WHERE slot_name = '{h.Slot}'"); i++)
            await Task.Delay(100);
        await h.StopWorkerAsync();
        // Written and dropped while no worker runs: when one reads these rows, the catalog no longer has the table, and
        // the schema change that gave its key was read before the restart; the store still has it.
        await h.ExecuteAsync("INSERT INTO brief VALUES ('a', 1), ('b', 2); UPDATE brief SET code = 'c' WHERE n = 2; DROP TABLE brief");
        h.StartWorker();
        await h.CatchUpAsync();
        Assert.Equal(["[1,\"a\"]", "[2,\"b\"]", "[2,\"c\"]"],
            (await h.RowsAsync("SELECT coalesce(primary_key, 'null') FROM hindsight.changes WHERE \"table\" = 'brief' ORDER BY id")).Select(r => r[0]));
        await h.StopWorkerAsync();
    }

    [Fact]
    public async Task Under_replica_identity_default_a_borrowed_before_image_has_the_columns_of_its_moment()
    {
        await using var h = await CaptureHarness.CreateAsync(fixture,
            "CREATE SCHEMA copies; CREATE TABLE person (id int PRIMARY KEY, email text, age int, note text);", replicaIdentityFull: false);
        h.StartWorker();
        await h.ExecuteAsync("INSERT INTO person VALUES (1, 'a@x', 30, 'n1'), (2, 'b@x', 40, 'n2')");
        await h.CatchUpAsync();
        await h.ExecuteAsync("ALTER TABLE person RENAME COLUMN email TO contact_email");
        await h.ExecuteAsync("ALTER TABLE person ADD COLUMN nick text DEFAULT 'n', ADD COLUMN plain int");
        await h.ExecuteAsync("ALTER TABLE person DROP COLUMN age");
        await TableCopies.CopyAsync(h, "before", ("person", "person"));
        // No old tuple under REPLICA IDENTITY DEFAULT: both before-images come from the rows' last stored images.
        await h.ExecuteAsync("UPDATE person SET note = 'changed' WHERE id = 1; DELETE FROM person WHERE id = 2");
        await h.CatchUpAsync();
        Assert.Equal(0L, await h.ScalarAsync<long>(
            """
            SELECT count(*) FROM hindsight.changes c JOIN copies.person_before p ON c.primary_key = p.id::text
            WHERE c.operation IN ('UPDATE', 'DELETE') AND c.before <> to_jsonb(p)
            """));
        Assert.Equal(2L, await h.ScalarAsync<long>("SELECT count(*) FROM hindsight.changes WHERE operation IN ('UPDATE', 'DELETE')"));
        await h.StopWorkerAsync();
    }

    [Fact]
    public async Task Partitions_attached_and_detached_are_recorded_on_the_partitioned_table()
    {
        await using var h = await CaptureHarness.CreateAsync(fixture,
            "CREATE TABLE ev (id int, k int) PARTITION BY RANGE (k); CREATE TABLE ev_1 (id int, k int);");
        await h.SetupAsync();
        h.StartWorker();
        await h.ExecuteAsync("ALTER TABLE ev ATTACH PARTITION ev_1 FOR VALUES FROM (0) TO (10)");
        await h.ExecuteAsync("ALTER TABLE ev DETACH PARTITION ev_1");
        await h.CatchUpAsync();
        var rows = await h.RowsAsync(
            """
            SELECT statement, coalesce(detail -> 'partitions', '[]')::text FROM hindsight.schema_changes
            WHERE "table" = 'ev' AND command_tag = 'ALTER TABLE' ORDER BY commit_lsn, ordinal
            """);
        Assert.Equal(2, rows.Count);
        Assert.StartsWith("ALTER TABLE ev ATTACH", rows[0][0], StringComparison.Ordinal);
        Assert.Equal("[\"public.ev_1\"]", rows[0][1]);
        Assert.Equal("[]", rows[1][1]);
        await h.StopWorkerAsync();
    }

    [Fact]
    public async Task Schema_changes_of_a_streamed_transaction_follow_its_savepoints()
    {
        await using var h = await CaptureHarness.CreateAsync(fixture, "CREATE TABLE big (id int PRIMARY KEY, pad text);");
        await h.SetupAsync();
        h.StartWorker();
        // More than logical_decoding_work_mem (1MB in the test server) before and after each DDL: streamed.
        await h.ExecuteAsync(
            """
            BEGIN;
            INSERT INTO big SELECT g, repeat('x', 200) FROM generate_series(1, 10000) g;
            ALTER TABLE big ADD COLUMN kept int;
            INSERT INTO big SELECT g, repeat('y', 200) FROM generate_series(10001, 20000) g;
            SAVEPOINT s;
            ALTER TABLE big ADD COLUMN dropped_with_savepoint int;
            INSERT INTO big SELECT g, repeat('z', 200) FROM generate_series(20001, 30000) g;
            ROLLBACK TO s;
            INSERT INTO big SELECT g, repeat('w', 200) FROM generate_series(30001, 40000) g;
            COMMIT;
            """);
        await h.ExecuteAsync(
            """
            BEGIN;
            INSERT INTO big SELECT g, repeat('v', 200) FROM generate_series(40001, 50000) g;
            ALTER TABLE big ADD COLUMN rolled_back int;
            INSERT INTO big SELECT g, repeat('u', 200) FROM generate_series(50001, 60000) g;
            ROLLBACK;
            """);
        await h.CatchUpAsync();
        var statements = (await h.RowsAsync(
            "SELECT statement FROM hindsight.schema_changes WHERE command_tag = 'ALTER TABLE' ORDER BY commit_lsn, ordinal")).Select(r => r[0]).ToList();
        Assert.Single(statements);
        Assert.Contains("ADD COLUMN kept", statements[0], StringComparison.Ordinal);
        // Placed among the row changes by position: after the first 10,000 inserts, before the next.
        Assert.Equal(10000L, await h.ScalarAsync<long>(
            """
            SELECT count(*) FROM hindsight.changes c, hindsight.schema_changes s
            WHERE s.command_tag = 'ALTER TABLE' AND c.commit_lsn = s.commit_lsn AND c.position < s.position
            """));
        await h.StopWorkerAsync();
    }
}
