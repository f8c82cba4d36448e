using System.Text.Json;
using System.Text.Json.Nodes;
using Dapper;
using Hindsight.Context;
using Hindsight.Tests.Infrastructure;
using Xunit;

namespace Hindsight.Tests.Context;

/// <summary>The Npgsql/Dapper helpers and the scope API: what the worker stored.</summary>
[Collection(PostgresCollection.Name)]
[Trait("Category", "PostgreSQL")]
public sealed class NpgsqlContextTests(PostgresFixture fixture)
{
    [Fact]
    public async Task Context_Npgsql_helper_and_Dapper_write_with_context()
    {
        await using var h = await CaptureHarness.CreateAsync(fixture, ShopDb.Sql);
        h.StartWorker();
        await using (var conn = await h.Source.OpenConnectionAsync())
        {
            using (HindsightContext.Push(new Dictionary<string, object> { ["job"] = "import" }))
            {
                await using var tx = await conn.BeginHindsightTransactionAsync();
                await conn.ExecuteAsync("INSERT INTO items (name) VALUES (@Name)", new { Name = "dapper" }, tx);
                using (HindsightContext.Push(new JsonObject { ["step"] = 2 }))
                {
                    await conn.EmitHindsightContextAsync(tx);
                    await conn.ExecuteAsync("UPDATE items SET qty = 2 WHERE name = 'dapper'", transaction: tx);
                }
                await conn.EmitHindsightContextAsync(tx, new { explicitContext = true });
                await conn.ExecuteAsync("DELETE FROM items WHERE name = 'dapper'", transaction: tx);
                await tx.CommitAsync();
            }
            await using var plain = await conn.BeginHindsightTransactionAsync(); // no scope: nothing emitted
            await conn.ExecuteAsync("INSERT INTO items (name) VALUES ('plain')", transaction: plain);
            await plain.CommitAsync();
        }
        await h.CatchUpAsync();

        var rows = (await StoredContexts.ItemsAsync(h)).Select(r => $"{r[0]} {r[1]} {r[2]}").ToArray();
        Assert.Equal(
        [
            """CREATE dapper {"job": "import"}""",
            """UPDATE dapper {"job": "import", "step": 2}""",
            """DELETE dapper {"explicitContext": true}""",
            "CREATE plain {}",
        ], rows);
    }

    [Fact]
    public async Task Context_helper_with_too_large_context_throws_and_the_transaction_writes_nothing()
    {
        await using var h = await CaptureHarness.CreateAsync(fixture, ShopDb.Sql);
        h.StartWorker();
        await using (var conn = await h.Source.OpenConnectionAsync())
        {
            await using var tx = await conn.BeginHindsightTransactionAsync();
            await Assert.ThrowsAsync<HindsightContextTooLargeException>(
                () => conn.EmitHindsightContextAsync(tx, new { blob = new string('x', HindsightContext.DefaultSizeLimit) }));
            await tx.RollbackAsync();
        }
        await h.ExecuteAsync("INSERT INTO items (name) VALUES ('marker')");
        await h.CatchUpAsync();
        Assert.Equal(["marker"], (await StoredContexts.ItemsAsync(h)).Select(r => r[1]).ToArray());
    }

    [Fact]
    public void Context_scopes_merge_inner_wins_and_restore_even_out_of_order()
    {
        Assert.Null(HindsightContext.Current);
        var outer = HindsightContext.Push(new { user = "a", job = "j" });
        var inner = HindsightContext.Push(new { user = "b", step = 1 });
        Assert.Equal("""{"user":"b","job":"j","step":1}""", HindsightContext.CurrentJson);
        outer.Dispose(); // out of order: the inner scope stays current with what it merged
        Assert.Equal("""{"user":"b","job":"j","step":1}""", HindsightContext.CurrentJson);
        inner.Dispose(); // skips the closed outer scope
        Assert.Null(HindsightContext.Current);

        using (HindsightContext.Push(new { a = 1 }))
        {
            using (HindsightContext.Push(new { b = 2 })) { }
            Assert.Equal("""{"a":1}""", HindsightContext.CurrentJson);
            Assert.Equal("""{"a":1}""", System.Text.Encoding.UTF8.GetString(HindsightContext.CurrentUtf8!.Value.Span));
        }
    }

    [Fact]
    public void Context_rejects_NUL_and_non_objects_with_clear_errors()
    {
        var nul = Assert.Throws<ArgumentException>(() => HindsightContext.Push(new { note = "a\0b" }));
        Assert.Contains("/note", nul.Message);
        Assert.Throws<ArgumentException>(() => HindsightContext.Push(new Dictionary<string, object> { ["k\0"] = 1 }));
        Assert.Throws<ArgumentException>(() => HindsightContext.Push(new[] { 1, 2 }));
        Assert.Throws<ArgumentException>(() => HindsightContext.Serialize(JsonDocument.Parse("\"text\"").RootElement));
        Assert.Null(HindsightContext.Current);
    }

    [Fact]
    public async Task Context_scopes_do_not_leak_between_concurrent_flows()
    {
        var seen = await Task.WhenAll(Enumerable.Range(0, 50).Select(async i =>
        {
            using (HindsightContext.Push(new { i }))
            {
                await Task.Yield();
                await Task.Delay(i % 5);
                return HindsightContext.CurrentJson;
            }
        }));
        Assert.Equal(Enumerable.Range(0, 50).Select(i => $$"""{"i":{{i}}}""").ToArray(), seen);
        Assert.Null(HindsightContext.Current);
    }
}
