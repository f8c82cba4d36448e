using Hindsight.Model;
using Hindsight.Query;
using Hindsight.Tests.Infrastructure;
using Npgsql;
using Xunit;

namespace Hindsight.Tests.Query;

/// <summary>
/// As-of across migrations: the table at a moment has the columns it had then, for every row, however long ago each row
/// last changed. The oracle is PostgreSQL: a copy of the table taken at each moment (in schema copies, not tracked),
/// compared row for row with the as-of rows as jsonb.
/// </summary>
[Collection(PostgresCollection.Name)]
[Trait("Category", "PostgreSQL")]
public sealed class AsOfSchemaChangeTests(PostgresFixture fixture)
{
    private const string Schema =
        """
        CREATE SCHEMA copies;
        CREATE TABLE person (id int PRIMARY KEY, email text, age int);
        """;

    /// <summary>The rows as-of returned and the copy differ by, both ways, compared by PostgreSQL; empty when equal.</summary>
    private static async Task<string> DifferenceAsync(CaptureHarness h, AsOfResult asOf, string copy)
    {
        await using var conn = await h.Source.OpenConnectionAsync();
        await using var tx = await conn.BeginTransactionAsync();
        await using (var create = new NpgsqlCommand("CREATE TEMP TABLE asof_rows (row jsonb) ON COMMIT DROP", conn, tx))
            await create.ExecuteNonQueryAsync();
        foreach (var row in asOf.Rows)
        {
            await using var insert = new NpgsqlCommand("INSERT INTO asof_rows VALUES ($1::jsonb)", conn, tx);
            insert.Parameters.AddWithValue(System.Text.Encoding.UTF8.GetString(row.RowJson.Span));
            await insert.ExecuteNonQueryAsync();
        }
        await using var diff = new NpgsqlCommand($"""
            SELECT string_agg(d, E'\n') FROM (
                (SELECT 'as-of only: ' || row::text AS d FROM asof_rows EXCEPT ALL SELECT 'as-of only: ' || to_jsonb(c)::text FROM copies.{copy} c)
                UNION ALL
                (SELECT 'copy only: ' || to_jsonb(c)::text FROM copies.{copy} c EXCEPT ALL SELECT 'copy only: ' || row::text FROM asof_rows)) x
            """, conn, tx);
        return await diff.ExecuteScalarAsync() as string ?? "";
    }

    [Fact]
    public async Task As_of_answers_with_the_columns_the_table_had_at_each_moment()
    {
        await using var h = await CaptureHarness.CreateAsync(fixture, Schema);
        h.StartWorker();
        var moments = new List<(string Copy, DateTimeOffset At)>();
        async Task StepAsync(string sql)
        {
            await h.ExecuteAsync(sql);
            var copy = $"person_{moments.Count}";
            moments.Add((copy, await TableCopies.CopyAsync(h, moments.Count.ToString(), ("person", "person"))));
        }

        await StepAsync("INSERT INTO person VALUES (1, 'a@x', 30), (2, 'b@x', 40), (3, 'c@x', 50)");
        await StepAsync("ALTER TABLE person RENAME COLUMN email TO contact_email; UPDATE person SET age = 31 WHERE id = 1");
        await StepAsync("ALTER TABLE person ADD COLUMN nick text DEFAULT 'n'");
        await StepAsync("ALTER TABLE person ADD COLUMN plain int; UPDATE person SET nick = 'bee' WHERE id = 2");
        await StepAsync("ALTER TABLE person DROP COLUMN age");
        await StepAsync("ALTER TABLE person ALTER COLUMN id TYPE bigint; INSERT INTO person (id, contact_email) VALUES (4, 'd@x')");
        // In one transaction: rows changed before and after the schema change, each under the columns it was written with.
        await StepAsync("BEGIN; UPDATE person SET contact_email = 'c2@x' WHERE id = 3; ALTER TABLE person RENAME COLUMN nick TO nickname; " +
                        "UPDATE person SET nickname = 'dee' WHERE id = 4; COMMIT;");
        await h.CatchUpAsync();

        var trail = new AuditTrail(h.Source);
        foreach (var (copy, at) in moments)
        {
            var asOf = await trail.AsOfAsync(new TableName("public", "person"), at);
            var diff = await DifferenceAsync(h, asOf, copy);
            if (diff.Length > 0)
                diff += "\n" + string.Join("\n", (await h.RowsAsync(
                    "SELECT 'change', commit_lsn::text, position::text, operation, after::text FROM hindsight.changes WHERE \"table\" = 'person' " +
                    "UNION ALL SELECT 'schema', commit_lsn::text, position::text, command_tag, columns::text FROM hindsight.schema_changes ORDER BY 2, 3"))
                    .Select(r => string.Join(" ", r)));
            Assert.True(diff.Length == 0, $"as-of at {copy} differs from the copy:\n{diff}");
        }
        await h.StopWorkerAsync();
    }

    /// <summary>
    /// Writers keep changing the table while migrations run against it (each DDL waits for their locks, they for its);
    /// at checkpoints the writers pause, a copy is taken, and they go on. As-of at every checkpoint equals its copy.
    /// </summary>
    [Fact]
    public async Task As_of_holds_at_every_checkpoint_of_migrations_run_under_a_workload()
    {
        await using var h = await CaptureHarness.CreateAsync(fixture, Schema + "ALTER TABLE person ADD COLUMN n int NOT NULL DEFAULT 0;");
        h.StartWorker();
        using var stop = new CancellationTokenSource();
        var pause = new SemaphoreSlim(1, 1);
        var writes = 0;
        var renamed = false;
        string Table() => Volatile.Read(ref renamed) ? "people" : "person";
        var workload = Task.Run(async () =>
        {
            var random = new Random(16);
            await using var conn = await h.Source.OpenConnectionAsync();
            var next = 1;
            while (!stop.IsCancellationRequested)
            {
                await pause.WaitAsync();
                try
                {
                    // Statements that name only columns no migration touches, so they run before and after each one.
                    var sql = random.Next(4) switch
                    {
                        0 or 1 => $"INSERT INTO {Table()} (id, n) VALUES ({next++}, 1)",
                        2 => $"UPDATE {Table()} SET n = n + 1 WHERE id = {random.Next(1, next)}",
                        _ => $"DELETE FROM {Table()} WHERE id = {random.Next(1, next)}",
                    };
                    await using var cmd = new NpgsqlCommand(sql, conn);
                    await cmd.ExecuteNonQueryAsync();
                    writes++;
                }
                catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UndefinedTable)
                {
                    // Between a rename and the next statement naming the new table: try again.
                }
                finally { pause.Release(); }
            }
        });
        var checkpoints = new List<(string Table, string Copy, DateTimeOffset At)>();
        async Task CheckpointAsync()
        {
            await pause.WaitAsync();
            try
            {
                var copy = $"c{checkpoints.Count}";
                checkpoints.Add((Table(), $"{Table()}_{copy}", await TableCopies.CopyAsync(h, copy, (Table(), Table()))));
            }
            finally { pause.Release(); }
            await Task.Delay(100); // the workload writes on between checkpoints
        }

        await Task.Delay(200);
        await CheckpointAsync();
        foreach (var ddl in new[]
                 {
                     "ALTER TABLE person ADD COLUMN nick text DEFAULT 'n'",
                     "ALTER TABLE person RENAME COLUMN email TO contact_email",
                     "ALTER TABLE person ALTER COLUMN age TYPE bigint",
                     "ALTER TABLE person DROP COLUMN age",
                 })
        {
            await h.ExecuteAsync(ddl);
            await CheckpointAsync();
        }
        await pause.WaitAsync();
        await h.ExecuteAsync("ALTER TABLE person RENAME TO people");
        Volatile.Write(ref renamed, true);
        pause.Release();
        await Task.Delay(100);
        await CheckpointAsync();
        await stop.CancelAsync();
        await workload;
        await h.CatchUpAsync();
        Assert.True(writes > 20, $"the workload wrote {writes} times");

        var trail = new AuditTrail(h.Source);
        foreach (var (table, copy, at) in checkpoints)
        {
            var diff = await DifferenceAsync(h, await trail.AsOfAsync(new TableName("public", table), at), copy);
            Assert.True(diff.Length == 0, $"as-of at {copy} differs from the copy:\n{diff}");
        }
        await h.StopWorkerAsync();
    }

    /// <summary>
    /// Set up without a superuser there is no event trigger: schema changes come from pgoutput's relation messages, with
    /// no statement and no role, and as-of still answers with the columns of the moment.
    /// </summary>
    [Fact]
    public async Task Without_a_superuser_schema_changes_come_from_relation_messages()
    {
        await using var h = await CaptureHarness.CreateWithoutSetupAsync(fixture, "CREATE SCHEMA copies;");
        var db = new NpgsqlConnectionStringBuilder(h.ConnectionString).Database!;
        var role = "owner_" + db;
        await h.ExecuteAsync(
            $"""
            CREATE ROLE {role} LOGIN REPLICATION;
            GRANT CREATE ON DATABASE "{db}" TO {role};
            GRANT CREATE ON SCHEMA public TO {role};
            SET ROLE {role};
            CREATE TABLE person (id int PRIMARY KEY, email text, age int);
            RESET ROLE;
            """);
        var owner = new NpgsqlConnectionStringBuilder(h.ConnectionString) { Username = role, Pooling = false }.ConnectionString;
        var report = await new Hindsight.Setup.SetupRunner(new Hindsight.Setup.SetupOptions
        {
            SourceConnectionString = owner, Slot = h.Slot, Publication = h.Slot, Tables = ["person"],
        }).RunAsync();
        Assert.False(report.SchemaChangesCaptured);
        h.StartWorker();
        await using var asOwner = NpgsqlDataSource.Create(owner);
        async Task RunAsync(string sql)
        {
            await using var cmd = asOwner.CreateCommand(sql);
            await cmd.ExecuteNonQueryAsync();
        }

        await RunAsync("INSERT INTO person VALUES (1, 'a@x', 30), (2, 'b@x', 40)");
        var first = await TableCopies.CopyAsync(h, "first", ("person", "person"));
        await RunAsync("ALTER TABLE person RENAME COLUMN email TO contact_email");
        await RunAsync("ALTER TABLE person ADD COLUMN nick text DEFAULT 'n'");
        await RunAsync("UPDATE person SET age = 31 WHERE id = 1");
        var second = await TableCopies.CopyAsync(h, "second", ("person", "person"));
        await h.CatchUpAsync();

        var trail = new AuditTrail(h.Source);
        var table = new TableName("public", "person");
        Assert.Equal("", await DifferenceAsync(h, await trail.AsOfAsync(table, first), "person_first"));
        Assert.Equal("", await DifferenceAsync(h, await trail.AsOfAsync(table, second), "person_second"));
        var change = Assert.Single(await trail.SchemaChangesAsync(new SchemaChangeFilter { Tables = [table] }));
        Assert.Equal("RELATION", change.CommandTag);
        Assert.Null(change.Statement);
        Assert.Equal(["column email renamed to contact_email", "column nick added (text, default 'n'::text)"], change.Effects);
        await h.StopWorkerAsync();
    }

    [Fact]
    public async Task A_renamed_table_answers_under_its_new_name_with_rows_from_before_the_rename()
    {
        await using var h = await CaptureHarness.CreateWithoutSetupAsync(fixture, Schema + "CREATE SCHEMA archive;");
        await h.SetupAsync(o => new Hindsight.Setup.SetupOptions
        {
            SourceConnectionString = o.SourceConnectionString, Slot = o.Slot, Publication = o.Publication, Schemas = ["public", "archive"],
        });
        h.StartWorker();
        await h.ExecuteAsync("INSERT INTO person VALUES (1, 'a@x', 30), (2, 'b@x', 40)");
        await h.ExecuteAsync("ALTER TABLE person RENAME TO people; UPDATE people SET age = 41 WHERE id = 2");
        var renamed = await TableCopies.CopyAsync(h, "renamed", ("people", "people"));
        // Another table takes the old name: its rows are not the renamed table's.
        await h.ExecuteAsync("CREATE TABLE person (id int PRIMARY KEY, email text, age int); INSERT INTO person VALUES (1, 'new@x', 1)");
        await h.ExecuteAsync("ALTER TABLE people SET SCHEMA archive; UPDATE archive.people SET email = 'a2@x' WHERE id = 1");
        var moved = await TableCopies.CopyAsync(h, "moved", ("archive.people", "people"));
        await h.CatchUpAsync();

        var trail = new AuditTrail(h.Source);
        Assert.Equal("", await DifferenceAsync(h, await trail.AsOfAsync(new TableName("public", "people"), renamed), "people_renamed"));
        Assert.Equal("", await DifferenceAsync(h, await trail.AsOfAsync(new TableName("archive", "people"), moved), "people_moved"));
        var history = await trail.HistoryAsync(new TableName("archive", "people"), "1");
        Assert.Equal(["CREATE", "UPDATE"], history.Versions.Select(v => v.Change.Operation.ToStored()));
        Assert.Equal(["a@x", "a2@x"], history.Versions.Select(v => v.Row!["email"]!.GetValue<string>()));
        var person = await trail.HistoryAsync(new TableName("public", "person"), "1");
        Assert.Equal("new@x", Assert.Single(person.Versions).Row!["email"]!.GetValue<string>());
        await h.StopWorkerAsync();
    }

    [Fact]
    public async Task A_table_dropped_and_created_again_has_two_lives()
    {
        await using var h = await CaptureHarness.CreateAsync(fixture, Schema);
        h.StartWorker();
        await h.ExecuteAsync("INSERT INTO person VALUES (1, 'a@x', 30), (2, 'b@x', 40)");
        var first = await TableCopies.CopyAsync(h, "first", ("person", "person"));
        await h.ExecuteAsync("DROP TABLE person");
        var dropped = await TableCopies.CopyAsync(h, "none");
        await h.ExecuteAsync("CREATE TABLE person AS SELECT 2 AS id, 'second life' AS name; ALTER TABLE person ADD PRIMARY KEY (id)");
        var second = await TableCopies.CopyAsync(h, "second", ("person", "person"));
        await h.CatchUpAsync();

        var trail = new AuditTrail(h.Source);
        var table = new TableName("public", "person");
        Assert.Equal("", await DifferenceAsync(h, await trail.AsOfAsync(table, first), "person_first"));
        Assert.Empty((await trail.AsOfAsync(table, dropped)).Rows);
        Assert.Equal("", await DifferenceAsync(h, await trail.AsOfAsync(table, second), "person_second"));
        await h.StopWorkerAsync();
    }

    [Fact]
    public async Task Values_PostgreSQL_rewrote_without_logging_are_marked_unknown_for_rows_written_before()
    {
        await using var h = await CaptureHarness.CreateAsync(fixture, Schema);
        h.StartWorker();
        await h.ExecuteAsync("INSERT INTO person VALUES (1, 'a@x', 30)");
        await h.ExecuteAsync("ALTER TABLE person ADD COLUMN token uuid DEFAULT gen_random_uuid(); INSERT INTO person VALUES (2, 'b@x', 40)");
        // Retyped with an expression: the table is rewritten with values no WAL record carries.
        await h.ExecuteAsync("ALTER TABLE person ALTER COLUMN email TYPE int USING length(email)");
        await h.ExecuteAsync("ALTER TABLE person ALTER COLUMN age TYPE bigint");
        await h.CatchUpAsync();
        var at = await h.ScalarAsync<DateTime>("SELECT now()");
        var asOf = await new AuditTrail(h.Source).AsOfAsync(new TableName("public", "person"), new DateTimeOffset(DateTime.SpecifyKind(at, DateTimeKind.Utc)));
        var rows = asOf.Rows.ToDictionary(r => r.PrimaryKey);
        Assert.Equal(ImagePlaceholders.UnknownAfterSchemaChange, rows["1"].Row["token"]!.ToJsonString());
        Assert.Equal(await h.ScalarAsync<string>("SELECT token::text FROM person WHERE id = 2"), rows["2"].Row["token"]!.GetValue<string>());
        Assert.All(rows.Values, r => Assert.Equal(ImagePlaceholders.UnknownAfterSchemaChange, r.Row["email"]!.ToJsonString()));
        // Widened without an expression, the value stays as it was.
        Assert.Equal(30, rows["1"].Row["age"]!.GetValue<int>());
        await h.StopWorkerAsync();
    }
}
