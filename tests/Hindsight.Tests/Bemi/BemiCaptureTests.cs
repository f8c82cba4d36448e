using Hindsight.Tests.Infrastructure;
using Npgsql;
using Xunit;

namespace Hindsight.Tests.Bemi;

/// <summary>
/// setup --bemi-compat end to end: a <c>/*Bemi {json} Bemi*/</c> comment on a statement reaches
/// <c>hindsight.changes.context</c> of that statement's rows, through the trigger and the capture worker.
/// </summary>
[Collection(PostgresCollection.Name)]
[Trait("Category", "PostgreSQL")]
public sealed class BemiCaptureTests(PostgresFixture fixture)
{
    private const string Schema = "CREATE TABLE orders (id int PRIMARY KEY, status text, note text);";

    /// <summary>Rows of a table in the store, in WAL order: primary key, operation, context.</summary>
    private static Task<List<string[]>> StoredAsync(CaptureHarness h, string table) =>
        h.RowsAsync("SELECT primary_key, operation, context::text FROM hindsight.changes WHERE \"table\" = $1 ORDER BY commit_lsn, ordinal", table);

    /// <summary>Whether every stored change of the table with these keys has exactly this context (jsonb equality).</summary>
    private static async Task AssertContextAsync(CaptureHarness h, string table, string[] keys, string expectedJson)
    {
        var rows = await h.RowsAsync(
            "SELECT primary_key, context::text, context = $3::jsonb FROM hindsight.changes WHERE \"table\" = $1 AND primary_key = ANY($2) ORDER BY commit_lsn, ordinal",
            table, keys, expectedJson);
        Assert.NotEmpty(rows);
        Assert.Equal(keys.Order(StringComparer.Ordinal), rows.Select(r => r[0]).Distinct().Order(StringComparer.Ordinal));
        foreach (var r in rows) Assert.True(r[2] == "True", $"row {r[0]}: context {r[1]}, expected {expectedJson}");
    }

    [Fact]
    public async Task Bemi_comment_reaches_the_stored_context_intact_and_no_comment_gives_an_empty_context()
    {
        var (h, lease) = await BemiHarness.CreateAsync(fixture, Schema + "INSERT INTO orders VALUES (1, 'new', NULL), (2, 'new', NULL);");
        await using var _h = lease;
        h.StartWorker();
        await h.ExecuteAsync("""UPDATE orders SET status = 'paid' WHERE id = 1 /*Bemi {"endpoint":"/orders","userId":42} Bemi*/""");
        await h.ExecuteAsync("UPDATE orders SET status = 'paid' WHERE id = 2");
        await h.CatchUpAsync();

        await AssertContextAsync(h, "orders", ["1"], """{"endpoint":"/orders","userId":42}""");
        await AssertContextAsync(h, "orders", ["2"], "{}");
    }

    [Fact]
    public async Task Comment_like_text_in_literals_and_identifiers_is_not_taken()
    {
        var (h, lease) = await BemiHarness.CreateAsync(fixture, Schema + """CREATE TABLE "odd /*Bemi {""x"":9} Bemi*/" (id int PRIMARY KEY);""");
        await using var _h = lease;
        h.StartWorker();
        await h.ExecuteAsync("""INSERT INTO orders VALUES (1, 'x', '/*Bemi {"x":1} Bemi*/')""");
        await h.ExecuteAsync("""INSERT INTO orders VALUES (2, 'x', E'\' /*Bemi {"x":2} Bemi*/')""");
        await h.ExecuteAsync("""INSERT INTO orders VALUES (3, 'x', $q$ ' /*Bemi {"x":3} Bemi*/$q$)""");
        await h.ExecuteAsync("""INSERT INTO orders VALUES (4, 'x', 'it''s /*Bemi {"x":4} Bemi*/')""");
        await h.ExecuteAsync("""INSERT INTO "odd /*Bemi {""x"":9} Bemi*/" VALUES (5)""");
        // A line comment at the end is not a Bemi comment, even when it looks like one.
        await h.ExecuteAsync("""INSERT INTO orders VALUES (6, 'x', NULL) -- /*Bemi {"x":6} Bemi*/""");
        // A real one after a literal that mimics it: only the real one counts.
        await h.ExecuteAsync("""INSERT INTO orders VALUES (7, 'x', E'\' /*Bemi {"x":"fake"} Bemi*/') /*Bemi {"x":"real"} Bemi*/""");
        await h.CatchUpAsync();

        await AssertContextAsync(h, "orders", ["1", "2", "3", "4", "6"], "{}");
        await AssertContextAsync(h, "odd /*Bemi {\"x\":9} Bemi*/", ["5"], "{}");
        await AssertContextAsync(h, "orders", ["7"], """{"x":"real"}""");
        Assert.Equal("' /*Bemi {\"x\":2} Bemi*/", await h.ScalarAsync<string>("SELECT after->>'note' FROM hindsight.changes WHERE primary_key = '2'"));
    }

    [Fact]
    public async Task Of_several_comments_only_the_last_one_ending_the_statement_counts()
    {
        var (h, lease) = await BemiHarness.CreateAsync(fixture, Schema + "INSERT INTO orders SELECT g, 'new' FROM generate_series(1, 3) g;");
        await using var _h = lease;
        h.StartWorker();
        await h.ExecuteAsync("""UPDATE orders SET status = 'a' WHERE id = 1 /*Bemi {"n":"first"} Bemi*/ /*Bemi {"n":"last"} Bemi*/;""");
        // A Bemi comment in the middle of a statement is not what an ORM writes: not taken.
        await h.ExecuteAsync("""UPDATE orders SET status = 'b' /*Bemi {"n":"middle"} Bemi*/ WHERE id = 2""");
        // Other comments after it don't hide it.
        await h.ExecuteAsync("""UPDATE orders SET status = 'c' WHERE id = 3 /*Bemi {"n":"then a note"} Bemi*/ /* note */ ;""");
        await h.CatchUpAsync();

        await AssertContextAsync(h, "orders", ["1"], """{"n":"last"}""");
        await AssertContextAsync(h, "orders", ["2"], "{}");
        await AssertContextAsync(h, "orders", ["3"], """{"n":"then a note"}""");
    }

    [Fact]
    public async Task A_multi_row_statement_writes_one_message_before_its_rows_and_all_rows_get_the_context()
    {
        var (h, lease) = await BemiHarness.CreateAsync(fixture, Schema + "INSERT INTO orders SELECT g, 'new' FROM generate_series(1, 5) g;");
        await using var _h = lease;
        await using var tap = await MessageTap.CreateAsync(h);
        h.StartWorker();
        await h.ExecuteAsync("""UPDATE orders SET status = 'shipped' /*Bemi {"job":"ship-all"} Bemi*/""");
        var lines = await tap.TakeAsync();
        Assert.Equal(["""{"job":"ship-all"}"""], MessageTap.Messages(lines));
        // In the WAL the message comes first, then the five row changes. (Only the orders table counts: the
        // worker's own progress updates in hindsight.progress can land in the same window.)
        var message = lines.FindIndex(l => l.StartsWith("message", StringComparison.Ordinal));
        Assert.True(message > 0 && lines[message - 1].StartsWith("BEGIN", StringComparison.Ordinal), string.Join('\n', lines));
        Assert.Equal(5, lines.Skip(message + 1).TakeWhile(l => !l.StartsWith("COMMIT", StringComparison.Ordinal))
            .Count(l => l.Contains("table public.orders: UPDATE:", StringComparison.Ordinal)));
        Assert.DoesNotContain(lines.Take(message), l => l.Contains("table public.orders", StringComparison.Ordinal));

        // ON CONFLICT DO UPDATE fires INSERT and UPDATE statement triggers; still one message.
        await h.ExecuteAsync("""INSERT INTO orders VALUES (1, 'x'), (9, 'y') ON CONFLICT (id) DO UPDATE SET status = 'z' /*Bemi {"job":"upsert"} Bemi*/""");
        Assert.Equal(["""{"job":"upsert"}"""], MessageTap.Messages(await tap.TakeAsync()));
        // A statement that runs more statements (here a DO block) is one statement too.
        await h.ExecuteAsync("""DO $$ BEGIN UPDATE orders SET note = 'a' WHERE id = 2; DELETE FROM orders WHERE id = 3; END $$ /*Bemi {"job":"do"} Bemi*/""");
        Assert.Equal(["""{"job":"do"}"""], MessageTap.Messages(await tap.TakeAsync()));
        await h.CatchUpAsync();

        var rows = await StoredAsync(h, "orders");
        Assert.Equal(5, rows.Count(r => r[2] == """{"job": "ship-all"}"""));
        Assert.Equal(2, rows.Count(r => r[2] == """{"job": "upsert"}"""));
        Assert.Equal(["UPDATE", "DELETE"], rows.Where(r => r[2] == """{"job": "do"}""").Select(r => r[1]));
    }

    [Fact]
    public async Task Statements_with_different_comments_in_one_transaction_each_get_their_own_context()
    {
        var (h, lease) = await BemiHarness.CreateAsync(fixture, Schema + "INSERT INTO orders SELECT g, 'new' FROM generate_series(1, 4) g;");
        await using var _h = lease;
        h.StartWorker();
        await using (var conn = await h.Source.OpenConnectionAsync())
        await using (var tx = await conn.BeginTransactionAsync())
        {
            foreach (var sql in new[]
                     {
                         """UPDATE orders SET status = 'a' WHERE id IN (1, 2) /*Bemi {"step":1} Bemi*/""",
                         """UPDATE orders SET status = 'b' WHERE id = 3 /*Bemi {"step":2} Bemi*/""",
                         """DELETE FROM orders WHERE id = 4 /*Bemi {"step":3} Bemi*/""",
                         """UPDATE orders SET status = 'c' WHERE id = 1 /*Bemi {"step":1} Bemi*/""",
                     })
            {
                await using var cmd = new NpgsqlCommand(sql, conn, tx);
                await cmd.ExecuteNonQueryAsync();
            }
            await tx.CommitAsync();
        }
        // Npgsql sends the statements of one command text separately, so each sees only its own text.
        await h.ExecuteAsync("""UPDATE orders SET note = 'x' WHERE id = 2 /*Bemi {"batch":1} Bemi*/; UPDATE orders SET note = 'y' WHERE id = 3 /*Bemi {"batch":2} Bemi*/""");
        await h.CatchUpAsync();

        var contexts = (await StoredAsync(h, "orders")).Select(r => r[0] + " " + r[1] + " " + r[2]).ToList();
        Assert.Equal(
        [
            """1 UPDATE {"step": 1}""", """2 UPDATE {"step": 1}""", """3 UPDATE {"step": 2}""", """4 DELETE {"step": 3}""", """1 UPDATE {"step": 1}""",
            """2 UPDATE {"batch": 1}""", """3 UPDATE {"batch": 2}""",
        ], contexts);
    }

    [Fact]
    public async Task Tables_created_after_setup_get_the_trigger_including_partitions()
    {
        var (h, lease) = await BemiHarness.CreateAsync(fixture, Schema);
        await using var _h = lease;
        h.StartWorker();
        await h.ExecuteAsync("CREATE TABLE later (id int PRIMARY KEY, v text)");
        await h.ExecuteAsync("CREATE TABLE events (id int, k int, PRIMARY KEY (id, k)) PARTITION BY LIST (k)");
        await h.ExecuteAsync("CREATE TABLE events_1 PARTITION OF events FOR VALUES IN (1)");
        await h.ExecuteAsync("CREATE SCHEMA elsewhere");
        await h.ExecuteAsync("CREATE TABLE elsewhere.events_2 (id int NOT NULL, k int NOT NULL)");
        await h.ExecuteAsync("ALTER TABLE events ATTACH PARTITION elsewhere.events_2 FOR VALUES IN (2)");
        await h.ExecuteAsync("CREATE TABLE made_as AS SELECT 1 AS id");
        await h.ExecuteAsync("CREATE TABLE elsewhere.untracked (id int)");

        Assert.Equal(
            ["elsewhere.events_2", "public.events", "public.events_1", "public.later", "public.made_as", "public.orders"],
            (await h.RowsAsync("SELECT tgrelid::regclass::text FROM pg_trigger WHERE tgname = 'hindsight_bemi_context' ORDER BY 1"))
            .Select(r => r[0].Contains('.', StringComparison.Ordinal) ? r[0] : "public." + r[0]).Order(StringComparer.Ordinal));

        await h.ExecuteAsync("""INSERT INTO later VALUES (1, 'v') /*Bemi {"t":"later"} Bemi*/""");
        await h.ExecuteAsync("""INSERT INTO events VALUES (1, 1), (2, 2) /*Bemi {"t":"through the parent"} Bemi*/""");
        await h.ExecuteAsync("""INSERT INTO events_1 VALUES (3, 1) /*Bemi {"t":"into a partition"} Bemi*/""");
        await h.ExecuteAsync("""INSERT INTO elsewhere.events_2 VALUES (4, 2) /*Bemi {"t":"into an attached partition"} Bemi*/""");
        await h.CatchUpAsync();

        await AssertContextAsync(h, "later", ["1"], """{"t":"later"}""");
        // Changes of partitions are stored under the root (publish_via_partition_root).
        var events = (await StoredAsync(h, "events")).Select(r => r[2]).ToList();
        Assert.Equal(
        [
            """{"t": "through the parent"}""", """{"t": "through the parent"}""", """{"t": "into a partition"}""", """{"t": "into an attached partition"}""",
        ], events);
    }

    [Fact]
    public async Task A_payload_that_is_not_a_json_object_never_loses_the_row_change()
    {
        var (h, lease) = await BemiHarness.CreateAsync(fixture, Schema);
        await using var _h = lease;
        h.StartWorker();
        await h.ExecuteAsync("INSERT INTO orders VALUES (1, 'a') /*Bemi not json at all Bemi*/");
        await h.ExecuteAsync("INSERT INTO orders VALUES (2, 'b') /*Bemi [1, 2] Bemi*/");
        await h.ExecuteAsync("""INSERT INTO orders VALUES (3, 'c') /*Bemi {"unfinished": Bemi*/""");
        await h.CatchUpAsync();

        var rows = await h.RowsAsync(
            """
            SELECT primary_key, context #>> '{hindsight,contextError,reason}', context #>> '{hindsight,contextError,prefix}'
            FROM hindsight.changes WHERE "table" = 'orders' ORDER BY primary_key
            """);
        Assert.Equal(
            [["1", "not_json", "_bemi"], ["2", "not_object", "_bemi"], ["3", "not_json", "_bemi"]],
            rows.Select(r => r.ToArray()));
    }

    [Fact]
    public async Task Hostile_payloads_quotes_comment_markers_emoji_and_unicode()
    {
        var (h, lease) = await BemiHarness.CreateAsync(fixture, Schema);
        await using var _h = lease;
        h.StartWorker();
        // Quotes and backslashes mean nothing inside a comment; a balanced /* */ nests, as PostgreSQL reads it.
        const string quotes = """{"q":"it's \"quoted\" \\ back","sql":"x' OR '1'='1","nested":"/* inner */"}""";
        await h.ExecuteAsync($"INSERT INTO orders VALUES (1, 'a') /*Bemi {quotes} Bemi*/");
        const string unicode = """{"user":"Zoë 😀 ✓","kanji":"漢字","rtl":"שלום","escaped":"\u00e9\ud83d\ude00"}""";
        await h.ExecuteAsync($"INSERT INTO orders VALUES (2, 'b') /*Bemi {unicode} Bemi*/");

        // */ inside a value ends the SQL comment early: the rest is SQL, so PostgreSQL rejects the statement (the ORM's
        // problem; Bemi's Django package writes "* /" instead). Nothing is written, so nothing is lost.
        var error = await Assert.ThrowsAsync<PostgresException>(() =>
            h.ExecuteAsync("""INSERT INTO orders VALUES (3, 'c') /*Bemi {"v":"a*/b"} Bemi*/"""));
        Assert.Equal(PostgresErrorCodes.SyntaxError, error.SqlState);
        // ...unless the rest happens to be a line comment: the statement runs, and the cut comment is no Bemi comment.
        await h.ExecuteAsync("""INSERT INTO orders VALUES (4, 'd') /*Bemi {"v":"*/ --"} Bemi*/""");
        // An unbalanced /* inside a value leaves the comment open: rejected as well.
        error = await Assert.ThrowsAsync<PostgresException>(() =>
            h.ExecuteAsync("""INSERT INTO orders VALUES (5, 'e') /*Bemi {"v":"/*"} Bemi*/"""));
        Assert.Equal(PostgresErrorCodes.SyntaxError, error.SqlState);
        await h.CatchUpAsync();

        await AssertContextAsync(h, "orders", ["1"], quotes);
        await AssertContextAsync(h, "orders", ["2"], unicode);
        await AssertContextAsync(h, "orders", ["4"], "{}");
        Assert.Equal(["1", "2", "4"], (await StoredAsync(h, "orders")).Select(r => r[0]));
    }
}
