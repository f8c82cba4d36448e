using System.Text.Json;
using Hindsight.EntityFrameworkCore;
using Hindsight.Context;
using Hindsight.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Xunit;

namespace Hindsight.Tests.Context;

/// <summary>EF Core with UseHindsight(): what the worker stored for each kind of write.</summary>
[Collection(PostgresCollection.Name)]
[Trait("Category", "PostgreSQL")]
public sealed class EfCoreContextTests(PostgresFixture fixture)
{
    private Task<CaptureHarness> StartAsync() => StoredContexts.StartAsync(fixture);

    private static void AssertContext(string expectedJson, string storedJson) => StoredContexts.AssertContext(expectedJson, storedJson);

    [Fact]
    public async Task Context_two_SaveChanges_in_one_explicit_transaction_are_each_attributed_to_their_own_scope()
    {
        await using var h = await StartAsync();
        await using (var db = new ShopDb(ShopDb.Options(h.ConnectionString)))
        {
            await using var tx = await db.Database.BeginTransactionAsync();
            using (HindsightContext.Push(new { step = "first", user = "alice" }))
            {
                db.Items.Add(new Item { Name = "a" });
                db.Items.Add(new Item { Name = "b" });
                await db.SaveChangesAsync();
            }
            using (HindsightContext.Push(new { step = "second" }))
            {
                db.Items.Add(new Item { Name = "c" });
                (await db.Items.SingleAsync(i => i.Name == "a")).Qty = 5;
                await db.SaveChangesAsync();
            }
            await tx.CommitAsync();
        }
        await h.CatchUpAsync();

        var rows = await StoredContexts.ItemsAsync(h);
        Assert.Equal(["CREATE a", "CREATE b", "CREATE c", "UPDATE a"], rows.Select(r => r[0] + " " + r[1]).Order().ToArray());
        foreach (var r in rows)
            AssertContext(r[1] is "a" or "b" && r[0] == "CREATE" ? """{"step":"first","user":"alice"}""" : """{"step":"second"}""", r[2]);
    }

    [Fact]
    public async Task Context_SaveChanges_without_transaction_single_and_batched_carries_context_and_keeps_concurrency_checks()
    {
        await using var h = await StartAsync();
        await using var db = new ShopDb(ShopDb.Options(h.ConnectionString));
        using (HindsightContext.Push(new { job = "nightly-sync" }))
        {
            db.Items.Add(new Item { Name = "single" });
            await db.SaveChangesAsync();
            for (var i = 0; i < 5; i++) db.Items.Add(new Item { Name = "batch" + i });
            db.Items.Single(i => i.Name == "single").Qty = 1;
            db.SaveChanges(); // the synchronous path too

            // A modification that hits no row must still be reported: the emit is not a statement of EF's batch.
            await h.ExecuteAsync("DELETE FROM items WHERE name = 'batch0'");
            db.Items.Local.Single(i => i.Name == "batch0").Qty = 9;
            await Assert.ThrowsAsync<DbUpdateConcurrencyException>(() => db.SaveChangesAsync());
        }
        await h.CatchUpAsync();

        var rows = await StoredContexts.ItemsAsync(h);
        Assert.Equal(8, rows.Count); // 6 creates, 1 update, 1 delete (plain SQL, no context)
        foreach (var r in rows)
            AssertContext(r[0] == "DELETE" ? "{}" : """{"job":"nightly-sync"}""", r[2]);
    }

    [Fact]
    public async Task Context_ExecuteUpdate_ExecuteDelete_ExecuteSqlRaw_carry_context_and_keep_rows_affected()
    {
        await using var h = await StartAsync();
        await h.ExecuteAsync("INSERT INTO items (name) SELECT 'i' || g FROM generate_series(1, 10) g");
        await using var db = new ShopDb(ShopDb.Options(h.ConnectionString));
        using (HindsightContext.Push(new { op = "update" }))
            Assert.Equal(4, await db.Items.Where(i => i.Id <= 4).ExecuteUpdateAsync(s => s.SetProperty(i => i.Qty, 7)));
        using (HindsightContext.Push(new { op = "delete" }))
            Assert.Equal(2, await db.Items.Where(i => i.Id > 8).ExecuteDeleteAsync());
        using (HindsightContext.Push(new { op = "raw" }))
        {
            Assert.Equal(1, await db.Database.ExecuteSqlRawAsync("UPDATE items SET qty = {0} WHERE name = {1}", 3, "i5"));
            Assert.Equal(1, await db.Database.ExecuteSqlAsync($"UPDATE items SET qty = {4} WHERE name = {"i6"}"));
            Assert.Equal(1, await db.Database.ExecuteSqlRawAsync("UPDATE items SET qty = @q WHERE name = @n",
                new NpgsqlParameter("q", 5), new NpgsqlParameter("n", "i7")));
            Assert.Equal(1, db.Database.ExecuteSqlRaw("UPDATE items SET qty = 6 WHERE name = 'i8'"));
        }
        await h.CatchUpAsync();

        var rows = await StoredContexts.ItemsAsync(h);
        var byName = rows.Where(r => r[0] != "CREATE").ToDictionary(r => r[1], r => r[2]);
        Assert.Equal(10, byName.Count);
        foreach (var n in new[] { "i1", "i2", "i3", "i4" }) AssertContext("""{"op":"update"}""", byName[n]);
        foreach (var n in new[] { "i9", "i10" }) AssertContext("""{"op":"delete"}""", byName[n]);
        foreach (var n in new[] { "i5", "i6", "i7", "i8" }) AssertContext("""{"op":"raw"}""", byName[n]);
        Assert.All(rows.Where(r => r[0] == "CREATE"), r => AssertContext("{}", r[2]));
    }

    [Fact]
    public async Task Context_reads_send_no_message_and_writes_without_a_scope_are_stored_with_empty_context()
    {
        await using var h = await StartAsync();
        await using var db = new ShopDb(ShopDb.Options(h.ConnectionString));
        db.Items.Add(new Item { Name = "plain" });
        await db.SaveChangesAsync();

        var slot = await StoredContexts.StartCountingMessagesAsync(h);
        using (HindsightContext.Push(new { user = "reader" }))
        {
            Assert.Equal(1, await db.Items.CountAsync());
            Assert.Single(await db.Items.AsNoTracking().ToListAsync());
            Assert.Single(await db.Items.FromSqlRaw("SELECT * FROM items").ToListAsync());
        }
        await db.Items.Where(i => i.Name == "plain").ExecuteUpdateAsync(s => s.SetProperty(i => i.Qty, 1)); // no scope
        Assert.Equal(0, await StoredContexts.CountMessagesAsync(h, slot));
        await h.CatchUpAsync();

        var rows = await StoredContexts.ItemsAsync(h);
        Assert.Equal(2, rows.Count);
        Assert.All(rows, r => Assert.Equal("{}", r[2]));
    }

    [Fact]
    public async Task Context_hostile_values_round_trip_exactly()
    {
        await using var h = await StartAsync();
        var hostile = new Dictionary<string, object?>
        {
            ["quote"] = "it's \"quoted\" '; DROP TABLE items; --",
            ["comment"] = "*/ SELECT 1; /* -- ",
            ["backslash"] = @"C:\path\n\t \\ \u0041 $1 @p0 {0}",
            ["unicode"] = "ünïcödé 中文 עברית \u200b \uFEFF",
            ["emoji"] = "🦄👩‍👩‍👧 \U0001F600",
            ["bemi"] = "/*Bemi {\"a\":1} Bemi*/",
            ["nested"] = new Dictionary<string, object?> { ["k'\"*/"] = new object?[] { 1, null, "x--y" } },
        };
        await using (var db = new ShopDb(ShopDb.Options(h.ConnectionString)))
        using (HindsightContext.Push(hostile))
        {
            db.Items.Add(new Item { Name = "ef" });
            await db.SaveChangesAsync();
            await db.Database.ExecuteSqlRawAsync("UPDATE items SET qty = 1");
        }
        await h.CatchUpAsync();

        // The expected JSON as System.Text.Json writes it by default (\u escapes), parsed by PostgreSQL itself.
        var expected = JsonSerializer.Serialize(hostile);
        Assert.Equal(2, await h.ScalarAsync<long>("""SELECT count(*) FROM hindsight.changes WHERE "table" = 'items' AND context = $1::jsonb""", expected));
    }

    [Fact]
    public async Task Context_too_large_throws_before_anything_is_sent_and_nothing_is_written()
    {
        await using var h = await StartAsync();
        Assert.Throws<HindsightContextTooLargeException>(() => HindsightContext.Push(new { blob = new string('x', 70 * 1024) }));
        Assert.Null(HindsightContext.Current);

        await using var db = new ShopDb(ShopDb.Options(h.ConnectionString));
        var limit = HindsightContext.SizeLimit;
        using (HindsightContext.Push(new { blob = new string('y', 2000) }))
        {
            HindsightContext.SizeLimit = 1000; // lowered after the push: checked again when sending
            try
            {
                db.Items.Add(new Item { Name = "never" });
                var e = await Assert.ThrowsAsync<DbUpdateException>(() => db.SaveChangesAsync()); // EF wraps what a batch throws
                Assert.IsType<HindsightContextTooLargeException>(e.InnerException);
                Assert.IsType<HindsightContextTooLargeException>(await Record.ExceptionAsync(
                    () => db.Items.ExecuteUpdateAsync(s => s.SetProperty(i => i.Qty, 1))));

                await using var tx = await db.Database.BeginTransactionAsync();
                Assert.Equal(0, await db.Items.CountAsync()); // reads still work: only writes need the context
                await Assert.ThrowsAsync<HindsightContextTooLargeException>(() => db.Database.ExecuteSqlRawAsync("INSERT INTO items (name) VALUES ('never2')"));
                await tx.RollbackAsync();
            }
            finally { HindsightContext.SizeLimit = limit; }
        }
        db.ChangeTracker.Clear();
        await h.ExecuteAsync("INSERT INTO items (name) VALUES ('marker')");
        await h.CatchUpAsync();

        Assert.Equal(["marker"], (await StoredContexts.ItemsAsync(h)).Select(r => r[1]).ToArray());
    }

    [Fact]
    public async Task Context_DbContext_pooling_carries_the_current_scope_not_a_previous_one()
    {
        await using var h = await StartAsync();
        var services = new ServiceCollection()
            .AddDbContextPool<ShopDb>(o => o.UseNpgsql(h.ConnectionString).UseHindsight(), poolSize: 2)
            .BuildServiceProvider();
        for (var i = 0; i < 6; i++)
        {
            using var scope = services.CreateScope();
            var db = scope.ServiceProvider.GetRequiredService<ShopDb>();
            db.Items.Add(new Item { Name = "p" + i });
            if (i % 3 == 2) { await db.SaveChangesAsync(); continue; } // no scope: must not inherit the previous lease's context
            using (HindsightContext.Push(new { lease = i })) await db.SaveChangesAsync();
        }
        await services.DisposeAsync();
        await h.CatchUpAsync();

        foreach (var r in await StoredContexts.ItemsAsync(h))
        {
            var i = int.Parse(r[1][1..]);
            AssertContext(i % 3 == 2 ? "{}" : $$"""{"lease":{{i}}}""", r[2]);
        }
        Assert.Equal(6, (await StoredContexts.ItemsAsync(h)).Count);
    }
}
