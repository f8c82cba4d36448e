using Hindsight.Model;
using Hindsight.Query;
using Hindsight.Tests.Infrastructure;
using Xunit;

namespace Hindsight.Tests.Query;

/// <summary>Record history: versions, order, diffs, contexts; TRUNCATE as part of a row's history.</summary>
[Collection(PostgresCollection.Name)]
[Trait("Category", "PostgreSQL")]
public sealed class HistoryTests(PostgresFixture fixture)
{
    [Fact]
    public async Task History_lists_every_version_with_diffs_contexts_and_the_truncate_that_removed_the_row()
    {
        await using var h = await CaptureHarness.CreateAsync(fixture,
            "CREATE TABLE items (id int PRIMARY KEY, name text, price numeric); CREATE TABLE pairs (a int, b text, v int, PRIMARY KEY (a, b));");
        h.StartWorker();
        await h.ExecuteAsync("TRUNCATE items"); // before the row existed: not part of its history
        await h.ExecuteAsync("BEGIN; SELECT pg_logical_emit_message(true, 'hindsight', '{\"userId\":\"u1\"}'); INSERT INTO items VALUES (1, 'pen', 1.50), (2, 'ink', 3); COMMIT;");
        await h.ExecuteAsync("BEGIN; SELECT pg_logical_emit_message(true, 'hindsight', '{\"userId\":\"u2\",\"requestId\":\"r-9\"}'); UPDATE items SET price = 2 WHERE id = 1; COMMIT;");
        await h.ExecuteAsync("UPDATE items SET price = 2.00 WHERE id = 1"); // the same number: jsonb sees no change
        await h.ExecuteAsync("BEGIN; UPDATE items SET name = 'Pen' WHERE id = 1; UPDATE items SET name = 'PEN' WHERE id = 1; COMMIT;");
        await h.ExecuteAsync("TRUNCATE items");
        await h.ExecuteAsync("TRUNCATE items"); // the row is already gone: not part of its history
        await h.ExecuteAsync("BEGIN; SELECT pg_logical_emit_message(true, 'hindsight', '{\"userId\":\"u3\"}'); INSERT INTO items VALUES (1, 'pencil', 0.5); COMMIT;");
        await h.ExecuteAsync("DELETE FROM items WHERE id = 1");
        await h.ExecuteAsync("INSERT INTO pairs VALUES (1, 'x y', 1); UPDATE pairs SET v = 2;");
        await h.CatchUpAsync();

        var trail = new AuditTrail(h.Source);
        var history = await trail.HistoryAsync(new TableName("public", "items"), "1");
        var v = history.Versions;
        Assert.Equal(
            [Operation.Create, Operation.Update, Operation.Update, Operation.Update, Operation.Update, Operation.Truncate, Operation.Create, Operation.Delete],
            v.Select(x => x.Change.Operation));

        // Who and when.
        Assert.Equal("u1", v[0].Change.Context["userId"]!.GetValue<string>());
        Assert.Equal("r-9", v[1].Change.Context["requestId"]!.GetValue<string>());
        Assert.Empty(v[2].Change.Context);
        Assert.Equal("u3", v[6].Change.Context["userId"]!.GetValue<string>());
        Assert.True(v.Zip(v.Skip(1)).All(p => p.First.Change.CommittedAt <= p.Second.Change.CommittedAt));

        // Diffs: a CREATE adds every column; an UPDATE lists what changed, by jsonb equality (2 = 2.00).
        Assert.Equal(["id", "name", "price"], v[0].Diff.Select(d => d.Column).Order());
        Assert.All(v[0].Diff, d => Assert.Equal(ColumnChangeKind.Added, d.Kind));
        var price = Assert.Single(v[1].Diff);
        Assert.Equal(("price", ColumnChangeKind.Changed, "1.50", "2"), (price.Column, price.Kind, price.OldValue!.ToJsonString(), price.NewValue!.ToJsonString()));
        Assert.Empty(v[2].Diff);
        Assert.Equal(("Pen", "PEN"), (v[4].Diff.Single().OldValue!.GetValue<string>(), v[4].Diff.Single().NewValue!.GetValue<string>()));
        Assert.True(v[3].Change.Ordinal < v[4].Change.Ordinal && v[3].Change.CommitLsn == v[4].Change.CommitLsn);
        // The TRUNCATE removed the row as it was.
        Assert.Null(v[5].Row);
        Assert.Null(v[5].Change.PrimaryKey);
        Assert.All(v[5].Diff, d => Assert.Equal(ColumnChangeKind.Removed, d.Kind));
        Assert.Equal("PEN", v[5].Diff.Single(d => d.Column == "name").OldValue!.GetValue<string>());
        Assert.Null(v[7].Row);
        Assert.Equal(3, v[7].Diff.Count(d => d.Kind == ColumnChangeKind.Removed));

        // Newest first is the same list reversed.
        var newest = await trail.HistoryAsync(new TableName(null, "items"), "1", newestFirst: true);
        Assert.Equal(v.Select(x => x.Change.Id).Reverse(), newest.Versions.Select(x => x.Change.Id));

        // Row 2 was removed by the first TRUNCATE after it was created, and only by that one.
        var two = await trail.HistoryAsync(new TableName(null, "items"), "2");
        Assert.Equal([Operation.Create, Operation.Truncate], two.Versions.Select(x => x.Change.Operation));

        // A composite key, spelled with or without spaces.
        var pair = await trail.HistoryAsync(new TableName(null, "pairs"), """[1, "x y"]""");
        Assert.Equal([Operation.Create, Operation.Update], pair.Versions.Select(x => x.Change.Operation));
        Assert.Equal("""[1,"x y"]""", pair.Versions[0].Change.PrimaryKey);
        // From the newest end too (one range per spelling of the key).
        var newestPair = await trail.HistoryAsync(new TableName(null, "pairs"), """[1, "x y"]""", 1);
        Assert.Equal(Operation.Update, Assert.Single(newestPair.Versions).Change.Operation);
        Assert.True(newestPair.HasMore);

        // Unknown rows and tables: an empty history, not an error.
        Assert.Empty((await trail.HistoryAsync(new TableName(null, "items"), "404")).Versions);
        Assert.Empty((await trail.HistoryAsync(new TableName("nope", "items"), "1")).Versions);
    }

    [Fact]
    public async Task A_limited_history_is_the_same_versions_and_diffs_as_that_end_of_the_whole_history()
    {
        // REPLICA IDENTITY DEFAULT: UPDATEs carry no before-image, so a window's first diff needs the version before it.
        await using var h = await CaptureHarness.CreateAsync(fixture, "CREATE TABLE items (id int PRIMARY KEY, name text, price numeric);",
            replicaIdentityFull: false);
        h.StartWorker();
        foreach (var sql in (string[])[
                     "TRUNCATE items", "INSERT INTO items VALUES (1, 'pen', 1.50)", "UPDATE items SET price = 2 WHERE id = 1",
                     "UPDATE items SET name = 'Pen' WHERE id = 1", "TRUNCATE items", "TRUNCATE items", "INSERT INTO items VALUES (1, 'pencil', 0.5)",
                     "UPDATE items SET price = 0.75 WHERE id = 1", "DELETE FROM items WHERE id = 1", "INSERT INTO items VALUES (1, 'quill', 9)",
                     "UPDATE items SET name = 'Quill' WHERE id = 1"])
            await h.ExecuteAsync(sql);
        await h.CatchUpAsync();
        // Which of those changes are versions of row 1: not the TRUNCATEs before it existed and after it was gone.
        bool[] isVersion = [false, true, true, true, true, false, true, true, true, true, true];
        var Changes = isVersion.Length;

        var trail = new AuditTrail(h.Source);
        var items = new TableName(null, "items");
        var whole = await trail.HistoryAsync(items, "1");
        Assert.Equal(9, whole.Versions.Count);
        Assert.False(whole.HasMore);
        static string Show(RecordVersion v) =>
            $"{v.Change.Id} {v.Row?.ToJsonString()} " + string.Join(";", v.Diff.Select(d => $"{d.Column}:{d.Kind}:{d.OldValue?.ToJsonString()}>{d.NewValue?.ToJsonString()}"));
        var newest = whole.Versions.Reverse().Select(Show).ToList();
        var oldest = whole.Versions.Select(Show).ToList();

        for (var limit = 1; limit <= Changes + 2; limit++)
        {
            var fromNewest = await trail.HistoryAsync(items, "1", limit);
            var shown = fromNewest.Versions.Select(Show).ToList();
            Assert.Equal(newest.Take(isVersion.TakeLast(limit).Count(x => x)), shown);
            Assert.Equal(limit < Changes, fromNewest.HasMore);

            var fromOldest = await trail.HistoryAsync(items, "1", limit, newestFirst: false);
            shown = fromOldest.Versions.Select(Show).ToList();
            Assert.Equal(oldest.Take(isVersion.Take(limit).Count(x => x)), shown);
            Assert.Equal(limit < Changes, fromOldest.HasMore);
        }
        // The newest version alone still says what it changed, from the version before it.
        var last = Assert.Single((await trail.HistoryAsync(items, "1", 1)).Versions).Diff.Single();
        Assert.Equal(("name", "\"quill\"", "\"Quill\""), (last.Column, last.OldValue!.ToJsonString(), last.NewValue!.ToJsonString()));

        // The key of a same-named table elsewhere, stored long before: the whole history refuses the bare name as ambiguous,
        // and so does a window that does not reach back to it; naming the schema and database answers.
        var db = await h.ScalarAsync<string>("SELECT current_database()");
        await h.ExecuteAsync(
            """
            INSERT INTO hindsight.changes (source, database, schema, "table", primary_key, operation, after, committed_at, transaction_id, position,
                                           commit_lsn, ordinal, queued_at)
            VALUES (current_database(), current_database(), 'other', 'items', '1', 'CREATE', '{"id": 1}', '2000-01-01', 1, 1, 1, 1, '2000-01-01')
            """);
        await Assert.ThrowsAsync<AuditQueryException>(() => trail.HistoryAsync(items, "1"));
        await Assert.ThrowsAsync<AuditQueryException>(() => trail.HistoryAsync(items, "1", 2));
        Assert.Equal(newest.Take(2), (await trail.HistoryAsync(new TableName("public", "items"), "1", 2)).Versions.Select(Show));
        Assert.Equal(newest.Take(2), (await trail.HistoryAsync(new TableName("public", "items"), "1", 2, database: db)).Versions.Select(Show));
    }

    [Fact]
    public void Json_values_compare_as_jsonb_does()
    {
        Assert.True(JsonEquality.JsonbEquals(System.Text.Json.Nodes.JsonNode.Parse("1.0"), System.Text.Json.Nodes.JsonNode.Parse("1")));
        Assert.True(JsonEquality.JsonbEquals(System.Text.Json.Nodes.JsonNode.Parse("1e2"), System.Text.Json.Nodes.JsonNode.Parse("100.000")));
        Assert.True(JsonEquality.JsonbEquals(System.Text.Json.Nodes.JsonNode.Parse("-0.0"), System.Text.Json.Nodes.JsonNode.Parse("0")));
        Assert.True(JsonEquality.JsonbEquals(System.Text.Json.Nodes.JsonNode.Parse("""{"a":[1,{"b":2.50}],"c":null}"""),
            System.Text.Json.Nodes.JsonNode.Parse("""{"c":null,"a":[1.0,{"b":2.5}]}""")));
        Assert.False(JsonEquality.JsonbEquals(System.Text.Json.Nodes.JsonNode.Parse("123456789012345678901234567890.1"),
            System.Text.Json.Nodes.JsonNode.Parse("123456789012345678901234567890.10000000001")));
        Assert.False(JsonEquality.JsonbEquals(System.Text.Json.Nodes.JsonNode.Parse("[1,2]"), System.Text.Json.Nodes.JsonNode.Parse("[2,1]")));
        Assert.False(JsonEquality.JsonbEquals(System.Text.Json.Nodes.JsonNode.Parse("\"1\""), System.Text.Json.Nodes.JsonNode.Parse("1")));
        Assert.False(JsonEquality.JsonbEquals(null, System.Text.Json.Nodes.JsonNode.Parse("{}")));
    }
}
