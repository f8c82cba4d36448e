using System.Text.Json.Nodes;
using Hindsight.Model;
using Hindsight.Query;
using Hindsight.Tests.Infrastructure;
using Npgsql;
using NpgsqlTypes;
using Xunit;
using Xunit.Abstractions;

namespace Hindsight.Tests.Query;

/// <summary>As-of (time travel) checked against real copies of the tables taken at several moments.</summary>
[Collection(PostgresCollection.Name)]
[Trait("Category", "PostgreSQL")]
public sealed class AsOfTests(PostgresFixture fixture, ITestOutputHelper output)
{
    private const string Schema =
        """
        CREATE TABLE a (id int PRIMARY KEY, name text, n int);
        CREATE TABLE b (k1 int, k2 text, v numeric, note text, PRIMARY KEY (k1, k2));
        CREATE TABLE c (id int PRIMARY KEY, doc jsonb, amount numeric(12,2), ratio float8);
        CREATE TABLE markers (n int PRIMARY KEY);
        CREATE TABLE nokey (v int);
        CREATE SCHEMA copies; -- not captured: the harness tracks schema public
        """;

    /// <summary>Key columns of each table, for joining a copy with the as-of images.</summary>
    private static readonly Dictionary<string, string[]> Keys = new() { ["a"] = ["id"], ["b"] = ["k1", "k2"], ["c"] = ["id"] };

    [Fact]
    public async Task As_of_equals_real_copies_taken_at_several_moments_of_a_random_workload()
    {
        await using var h = await CaptureHarness.CreateAsync(fixture, Schema);
        h.StartWorker();
        var rnd = new Random(4242);
        var a = new List<int>();
        var b = new List<(int, string)>();
        var c = new List<int>();
        var nextA = 1;
        var nextC = 1;
        string[] words = ["alpha", "O'Brien", "Zoë 🦄", "semi;colon", "quote\"d", "", "x'; DROP TABLE a; --"];
        var markers = 0;

        async Task MarkerAsync()
        {
            // The copies and the marker row commit together: the marker's committed_at in the store is exactly
            // the commit time of the transaction that saw the copied state.
            var n = markers++;
            await h.ExecuteAsync(
                $"""
                BEGIN;
                CREATE TABLE copies.a_{n} AS SELECT * FROM a;
                CREATE TABLE copies.b_{n} AS SELECT * FROM b;
                CREATE TABLE copies.c_{n} AS SELECT * FROM c;
                INSERT INTO markers VALUES ({n});
                COMMIT;
                """);
        }

        await MarkerAsync(); // before any write: every table empty
        for (var round = 0; round < 6; round++)
        {
            for (var t = 0; t < 25; t++)
            {
                await using var conn = await h.Source.OpenConnectionAsync();
                await using var tx = await conn.BeginTransactionAsync();
                var statements = rnd.Next(1, 5);
                for (var s = 0; s < statements; s++)
                {
                    async Task Exec(string sql, params object?[] ps)
                    {
                        await using var cmd = new NpgsqlCommand(sql, conn, tx);
                        foreach (var p in ps) cmd.Parameters.Add(new NpgsqlParameter { Value = p ?? DBNull.Value });
                        await cmd.ExecuteNonQueryAsync();
                    }
                    var word = words[rnd.Next(words.Length)];
                    switch (rnd.Next(3))
                    {
                        case 0:
                            var op = a.Count == 0 ? 0 : rnd.Next(4);
                            if (op <= 1) { a.Add(nextA); await Exec("INSERT INTO a VALUES ($1, $2, $3)", nextA++, word, rnd.Next(3) == 0 ? null : rnd.Next(1000)); }
                            else if (op == 2) await Exec("UPDATE a SET name = $2, n = coalesce(n, 0) + 1 WHERE id = $1", a[rnd.Next(a.Count)], word);
                            else { var k = a[rnd.Next(a.Count)]; a.Remove(k); await Exec("DELETE FROM a WHERE id = $1", k); }
                            break;
                        case 1:
                            var key = (rnd.Next(1, 6), new[] { "x", "y", "z's", "ü" }[rnd.Next(4)]);
                            if (!b.Contains(key)) { b.Add(key); await Exec("INSERT INTO b VALUES ($1, $2, $3::numeric, $4)", key.Item1, key.Item2, $"{rnd.Next(100)}.{rnd.Next(100):00}", word); }
                            else if (rnd.Next(3) > 0) await Exec("UPDATE b SET v = v * 1.0 + 1, note = $3 WHERE k1 = $1 AND k2 = $2", key.Item1, key.Item2, word);
                            else { b.Remove(key); await Exec("DELETE FROM b WHERE k1 = $1 AND k2 = $2", key.Item1, key.Item2); }
                            break;
                        default:
                            if (c.Count == 0 || rnd.Next(3) == 0)
                            {
                                c.Add(nextC);
                                await Exec("INSERT INTO c VALUES ($1, $2::jsonb, $3::numeric, $4)", nextC++,
                                    $$"""{"w": {{System.Text.Json.JsonSerializer.Serialize(word)}}, "n": {{rnd.Next(100)}}.0, "tags": [1, 2.50, null]}""",
                                    $"{rnd.Next(100000)}.{rnd.Next(100):00}", rnd.NextDouble() * 1e6);
                            }
                            else if (rnd.Next(2) == 0)
                            {
                                // Two updates of one row in one transaction: order inside a commit is by ordinal.
                                var k = c[rnd.Next(c.Count)];
                                await Exec("UPDATE c SET doc = doc || '{\"first\": true}', amount = amount + 1 WHERE id = $1", k);
                                await Exec("UPDATE c SET doc = jsonb_set(doc, '{n}', to_jsonb($2::int)), ratio = NULL WHERE id = $1", k, rnd.Next(10));
                            }
                            else { var k = c[rnd.Next(c.Count)]; c.Remove(k); await Exec("DELETE FROM c WHERE id = $1", k); }
                            break;
                    }
                }
                await tx.CommitAsync();
            }
            if (round == 2) { await h.ExecuteAsync("TRUNCATE a"); a.Clear(); }
            if (round == 4) { await h.ExecuteAsync("TRUNCATE b, c"); b.Clear(); c.Clear(); await h.ExecuteAsync("INSERT INTO c VALUES (1000, '{}', 1.10, 0.5)"); c.Add(1000); }
            await MarkerAsync();
        }
        await h.CatchUpAsync();

        var trail = new AuditTrail(h.Source);
        var nonEmpty = 0;
        for (var n = 0; n < markers; n++)
        {
            var at = await h.ScalarAsync<DateTime>("SELECT committed_at FROM hindsight.changes WHERE \"table\" = 'markers' AND primary_key = $1", n.ToString());
            foreach (var (table, keys) in Keys)
            {
                var result = await trail.AsOfAsync(new TableName("public", table), new DateTimeOffset(at, TimeSpan.Zero));
                Assert.False(result.Complete);
                Assert.NotNull(result.TrackingSince);
                var copyRows = await h.ScalarAsync<long>($"SELECT count(*) FROM copies.{table}_{n}");
                Assert.Equal(copyRows, result.Rows.Count);
                if (copyRows > 0) nonEmpty++;
                var differences = (await RowSets.DifferencesAsync(h.Source, $"SELECT to_jsonb(x) AS j FROM copies.{table}_{n} x", result.Rows, keys))
                    .Select(d => $"{table} at marker {n}: copy {d.Expected} vs as-of {d.Actual}").ToList();
                foreach (var d in differences) output.WriteLine(d);
                Assert.Empty(differences);

                // The same state read in pages of 7 keys: together, in key order, the real copy again, each row once.
                var paged = new List<AsOfRow>();
                for (AsOfResult? page = null; page is null || page.NextKey is not null;)
                {
                    page = await trail.AsOfPageAsync(new TableName("public", table), AsOfPoint.At(new DateTimeOffset(at, TimeSpan.Zero)),
                        new AsOfPage(7, page?.NextKey));
                    Assert.True(page.Rows.Count <= 7);
                    paged.AddRange(page.Rows);
                }
                Assert.Equal(paged.Select(r => r.PrimaryKey).Order(StringComparer.Ordinal), paged.Select(r => r.PrimaryKey));
                var pageDifferences = await RowSets.DifferencesAsync(h.Source, $"SELECT to_jsonb(x) AS j FROM copies.{table}_{n} x", paged, keys);
                Assert.Empty(pageDifferences);
                Assert.Equal(copyRows, paged.Count);
            }
        }
        Assert.True(nonEmpty >= 10, $"only {nonEmpty} non-empty copies: the workload is too small to test anything");

        // One row of the composite-key table, spelled with spaces: the same image as in the whole-table result.
        var last = await h.ScalarAsync<DateTime>("SELECT max(committed_at) FROM hindsight.changes");
        var whole = await trail.AsOfAsync(new TableName(null, "b"), new DateTimeOffset(last, TimeSpan.Zero));
        foreach (var row in whole.Rows.Take(3))
        {
            var spaced = JsonNode.Parse(row.PrimaryKey)!.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true });
            var one = await trail.AsOfAsync(new TableName(null, "b"), new DateTimeOffset(last, TimeSpan.Zero), spaced);
            Assert.Equal(row.Row.ToJsonString(), Assert.Single(one.Rows).Row.ToJsonString());
        }
    }

    [Fact]
    public async Task As_of_refuses_a_table_without_primary_key_until_a_truncate_wiped_its_keyless_rows()
    {
        await using var h = await CaptureHarness.CreateAsync(fixture, Schema);
        h.StartWorker();
        await h.ExecuteAsync("INSERT INTO nokey VALUES (1), (2)");
        await h.CatchUpAsync();
        var trail = new AuditTrail(h.Source);
        var e = await Assert.ThrowsAsync<AuditQueryException>(() => trail.AsOfAsync(new TableName(null, "nokey"), DateTimeOffset.UtcNow.AddMinutes(1)));
        Assert.Contains("without a primary key", e.Message);

        await h.ExecuteAsync("TRUNCATE nokey");
        await h.CatchUpAsync();
        var after = await trail.AsOfAsync(new TableName(null, "nokey"), DateTimeOffset.UtcNow.AddMinutes(1));
        Assert.Empty(after.Rows);
        // Before tracking began nothing is known, and the result says so.
        var before = await trail.AsOfAsync(new TableName(null, "a"), new DateTimeOffset(2000, 1, 1, 0, 0, 0, TimeSpan.Zero));
        Assert.Empty(before.Rows);
        Assert.False(before.Complete);
        Assert.Contains("complete only for rows changed since tracking began", before.CompletenessNote);
    }
}
