using System.Text.Json.Nodes;
using Hindsight.Tests.Infrastructure;
using Xunit;

namespace Hindsight.Tests.Server.Api;

/// <summary>
/// <c>GET /api/schema-changes</c> and the schema changes beside a row's versions in <c>GET /api/history</c>, over real
/// HTTP and PostgreSQL: each migration with its statement exactly as sent, its context and its effects; bad input is a
/// 400 that says why.
/// </summary>
[Collection(PostgresCollection.Name)]
[Trait("Category", "PostgreSQL")]
public sealed class ApiSchemaChangeTests(PostgresFixture fixture)
{
    private const string Schema =
        """
        CREATE TABLE person (id int PRIMARY KEY, email text, age int);
        CREATE TABLE other (id int PRIMARY KEY, v text);
        """;

    private const string Context = """{"userId":"alice","migration":"20261203_Rename"}""";

    // Quotes, a comment, unicode and markup: the statement must come back byte for byte.
    private const string AddColumn = "/* it's \"q\" */ ALTER TABLE person ADD COLUMN \"nick <b>x</b> ü\" text DEFAULT 'it''s'";

    private static List<JsonNode> SchemaChanges(JsonNode? body, string name = "schema_changes") =>
        body![name]!.AsArray().Select(n => n!).ToList();

    private static List<string> Effects(JsonNode change) => change["effects"]!.AsArray().Select(e => (string)e!).ToList();

    [Fact]
    public async Task Api_schema_changes_come_newest_first_with_statement_context_effects_and_columns()
    {
        await using var s = await ApiServer.StartAsync(fixture, schema: Schema);
        await s.Harness.ExecuteAsync("INSERT INTO person VALUES (1, 'a@x', 30)");
        await s.MigrateAsync(Context, "ALTER TABLE person RENAME COLUMN email TO contact_email");
        await s.MigrateAsync("""{"userId":"bob"}""", AddColumn);
        await s.MigrateAsync("""{"migration":"20261204_DropAge"}""", "ALTER TABLE person DROP COLUMN age");
        await s.MigrateAsync("""{"userId":"carol"}""", "ALTER TABLE other ADD COLUMN w int NOT NULL DEFAULT 0");
        await s.Harness.CatchUpAsync();

        var (status, body) = await s.GetAsync("/api/schema-changes");
        Assert.Equal(200, status);
        var all = SchemaChanges(body);
        Assert.Equal(["other", "person", "person", "person"], all.Select(c => (string)c["table"]!));

        var person = SchemaChanges((await s.GetAsync("/api/schema-changes?table=person")).Body);
        Assert.Equal(3, person.Count);
        var (drop, add, rename) = (person[0], person[1], person[2]);

        Assert.Equal("ALTER TABLE person RENAME COLUMN email TO contact_email", (string)rename["statement"]!);
        Assert.Equal(["column email renamed to contact_email"], Effects(rename));
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(Context), rename["context"]));
        Assert.Equal("ALTER TABLE", (string)rename["command_tag"]!);
        Assert.Equal(("public", "person"), ((string)rename["schema"]!, (string)rename["table"]!));
        Assert.False((bool)rename["statement_truncated"]!);
        Assert.Equal(await s.Harness.ScalarAsync<string>("SELECT session_user::text"), (string)rename["role"]!);
        Assert.Equal(["id", "contact_email", "age"], rename["columns"]!.AsArray().Select(c => (string)c!["name"]!));

        Assert.Equal(AddColumn, (string)add["statement"]!);
        var added = Assert.Single(Effects(add));
        Assert.StartsWith("column ", added, StringComparison.Ordinal);
        Assert.Contains("nick <b>x</b> ü", added, StringComparison.Ordinal);
        Assert.Contains(" added (text, default 'it''s'::text)", added, StringComparison.Ordinal);
        var nick = add["columns"]!.AsArray().Single(c => ((string)c!["name"]!).StartsWith("nick", StringComparison.Ordinal))!;
        Assert.Equal(("nick <b>x</b> ü", "text", false, "'it''s'::text", false),
            ((string)nick["name"]!, (string)nick["type"]!, (bool)nick["not_null"]!, (string?)nick["default"], (bool)nick["generated"]!));

        Assert.Equal(["column age dropped"], Effects(drop));
        Assert.Equal("20261204_DropAge", (string)drop["context"]!["migration"]!);

        // The rest of each change as the store holds it, checked against PostgreSQL.
        var stored = await s.Harness.RowsAsync(
            "SELECT id::text, transaction_id::text, commit_lsn::text FROM hindsight.schema_changes WHERE statement = $1", AddColumn);
        string[] answered = [.. new[] { "id", "transaction_id", "commit_lsn" }.Select(f => ((long)add[f]!).ToString(System.Globalization.CultureInfo.InvariantCulture))];
        Assert.Equal(stored.Single(), answered);
        Assert.Matches(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$", (string)add["committed_at"]!);
    }

    [Fact]
    public async Task Api_schema_changes_filter_by_table_time_limit_and_snapshots()
    {
        await using var s = await ApiServer.StartAsync(fixture, schema: Schema);
        await s.MigrateAsync(Context, "ALTER TABLE person RENAME COLUMN email TO contact_email");
        await s.MigrateAsync("""{"userId":"carol"}""", "ALTER TABLE other ADD COLUMN w int");
        await s.MigrateAsync("""{"userId":"dave"}""", "ALTER TABLE person RENAME TO people");
        await s.Harness.CatchUpAsync();

        // A table by any name it had: the rename is followed both ways.
        foreach (var name in new[] { "person", "public.person", "people" })
            Assert.Equal(["dave", "alice"], SchemaChanges((await s.GetAsync($"/api/schema-changes?table={name}")).Body)
                .Select(c => (string)c["context"]!["userId"]!));
        Assert.Equal(["carol"], SchemaChanges((await s.GetAsync("/api/schema-changes?table=other")).Body).Select(c => (string)c["context"]!["userId"]!));
        Assert.Equal(3, SchemaChanges((await s.GetAsync("/api/schema-changes?table=other,person")).Body).Count);
        Assert.Empty(SchemaChanges((await s.GetAsync("/api/schema-changes?table=nosuch")).Body));
        Assert.Empty(SchemaChanges((await s.GetAsync("/api/schema-changes?table=other.person")).Body));

        Assert.Equal(["table renamed from public.person to public.people"],
            Effects(SchemaChanges((await s.GetAsync("/api/schema-changes?limit=1")).Body).Single()));

        // The setup's snapshot of each table only when asked for.
        var withSnapshots = SchemaChanges((await s.GetAsync("/api/schema-changes?snapshots=true&table=other")).Body);
        Assert.Equal(["ALTER TABLE", "SNAPSHOT"], withSnapshots.Select(c => (string)c["command_tag"]!));
        Assert.Null(withSnapshots[1]["statement"]);
        Assert.Single(SchemaChanges((await s.GetAsync("/api/schema-changes?snapshots=FALSE&table=other")).Body));

        // since inclusive, until exclusive, at the stored commit time.
        var carol = SchemaChanges((await s.GetAsync("/api/schema-changes?table=other")).Body).Single();
        var at = Uri.EscapeDataString((string)carol["committed_at"]!);
        Assert.Equal(["dave", "carol"], SchemaChanges((await s.GetAsync($"/api/schema-changes?since={at}")).Body).Select(c => (string)c["context"]!["userId"]!));
        Assert.Equal(["alice"], SchemaChanges((await s.GetAsync($"/api/schema-changes?until={at}")).Body).Select(c => (string)c["context"]!["userId"]!));

        // Scoping: another source's or database's changes are not these.
        Assert.Empty(SchemaChanges((await s.GetAsync("/api/schema-changes?source=elsewhere")).Body));
        Assert.Empty(SchemaChanges((await s.GetAsync("/api/schema-changes?database=elsewhere")).Body));
        Assert.Equal(3, SchemaChanges((await s.GetAsync("/api/schema-changes?source=*")).Body).Count);
    }

    [Theory]
    [InlineData("limit=0", "limit: '0' is not a whole number between 1 and 1000")]
    [InlineData("limit=1001", "between 1 and 1000")]
    [InlineData("limit=ten", "limit: 'ten'")]
    [InlineData("since=yesterday", "since: 'yesterday' is not an ISO 8601 time")]
    [InlineData("until=2025-13-45", "until: '2025-13-45' is not an ISO 8601 time")]
    [InlineData("snapshots=maybe", "snapshots: 'maybe' is not true or false")]
    [InlineData("table=%22unbalanced", "unbalanced double quote")]
    public async Task Api_bad_schema_change_input_is_a_400_problem_with_the_reason(string query, string reason)
    {
        await using var s = await ApiServer.StartAsync(fixture, schema: Schema);
        using var response = await s.Client(s.ReadKey).GetAsync("/api/schema-changes?" + query);
        Assert.Equal(400, (int)response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Contains(reason, (string)problem["detail"]!, StringComparison.Ordinal);
        Assert.DoesNotContain("(Parameter", (string)problem["detail"]!, StringComparison.Ordinal);
        using var none = await s.Client(null).GetAsync("/api/schema-changes?" + query);
        Assert.Equal(401, (int)none.StatusCode); // the key is checked before the input
    }

    [Fact]
    public async Task Api_history_carries_the_tables_schema_changes_over_the_span_of_its_versions()
    {
        await using var s = await ApiServer.StartAsync(fixture, schema: Schema);
        // Before the row's first version: not part of its history.
        await s.MigrateAsync("""{"userId":"early"}""", "ALTER TABLE person ADD COLUMN early int");
        await s.Harness.ExecuteAsync("INSERT INTO person VALUES (1, 'a@x', 30)");
        await s.MigrateAsync(Context, "ALTER TABLE person RENAME COLUMN email TO contact_email");
        await s.MigrateAsync("""{"userId":"carol"}""", "ALTER TABLE other ADD COLUMN w int");
        await s.Harness.ExecuteAsync("UPDATE person SET contact_email = 'b@x' WHERE id = 1");
        // After the newest version: still shown (the span runs to now).
        await s.MigrateAsync("""{"userId":"late"}""", "ALTER TABLE person DROP COLUMN age");
        await s.Harness.CatchUpAsync();

        var history = (await s.GetAsync("/api/history?table=person&key=1")).Body!;
        Assert.Equal(["UPDATE", "CREATE"], history["versions"]!.AsArray().Select(v => (string)v!["change"]!["operation"]!));
        var newest = SchemaChanges(history);
        Assert.Equal(["late", "alice"], newest.Select(c => (string)c["context"]!["userId"]!));
        Assert.Equal(["column email renamed to contact_email"], Effects(newest[1]));
        Assert.Equal("ALTER TABLE person RENAME COLUMN email TO contact_email", (string)newest[1]["statement"]!);
        Assert.False((bool)history["schema_changes_truncated"]!);

        // Oldest first: in the versions' order. Only the oldest version: the span ends with it.
        var oldest = (await s.GetAsync("/api/history?table=person&key=1&order=oldest")).Body!;
        Assert.Equal(["alice", "late"], SchemaChanges(oldest).Select(c => (string)c["context"]!["userId"]!));
        Assert.Empty(SchemaChanges((await s.GetAsync("/api/history?table=person&key=1&order=oldest&limit=1")).Body));
        var first = (await s.GetAsync("/api/history?table=person&key=1&limit=1")).Body!;
        Assert.Equal(["late"], SchemaChanges(first).Select(c => (string)c["context"]!["userId"]!));
    }
}
