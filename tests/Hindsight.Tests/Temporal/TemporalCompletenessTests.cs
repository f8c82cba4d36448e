using Hindsight.EntityFrameworkCore;
using Hindsight.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Xunit;

namespace Hindsight.Tests.Temporal;

/// <summary>
/// What the trail cannot know (rows from before tracking that never changed) and what it holds only as a digest
/// (redacted values): a temporal query returns what the trail knows and, with RequireCompleteHistory, refuses moments
/// it cannot answer whole; a redacted value comes back as NULL, never as its digest.
/// </summary>
[Collection(PostgresCollection.Name)]
[Trait("Category", "PostgreSQL")]
public sealed class TemporalCompletenessTests(PostgresFixture fixture)
{
    [Fact]
    public async Task Temporal_incomplete_history_is_returned_as_known_or_refused_when_completeness_is_required()
    {
        await using var h = await CaptureHarness.CreateWithoutSetupAsync(fixture,
            TemporalShopDb.Sql + "INSERT INTO orders VALUES (1, 'old', 'New', 1, NULL, NULL, NULL, 0), (2, 'old', 'New', 2, NULL, NULL, NULL, 0);");
        await h.SetupAsync();
        h.StartWorker();
        await h.ExecuteAsync("UPDATE orders SET revision = 1 WHERE id = 1");
        await h.CatchUpAsync();
        var afterUpdate = await h.ScalarAsync<DateTime>("SELECT now()");

        await using (var db = new TemporalShopDb(TemporalShopDb.Options(h.ConnectionString)))
            Assert.Equal([1], (await db.Orders.TemporalAsOf(afterUpdate).ToListAsync()).Select(o => o.Id)); // order 2 never changed

        await using var strict = new TemporalShopDb(TemporalShopDb.Options(h.ConnectionString, temporal: o => o.RequireCompleteHistory = true));
        var e = await Assert.ThrowsAsync<HindsightIncompleteHistoryException>(() => strict.Orders.TemporalAsOf(afterUpdate).ToListAsync());
        Assert.Contains("orders", e.Message, StringComparison.Ordinal);
        Assert.Contains("setup --snapshot", e.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<HindsightIncompleteHistoryException>(() => strict.Orders.TemporalAll().ToListAsync());
        // Even when nothing would come back: order_lines had no rows and no change, and still could have had some.
        await Assert.ThrowsAsync<HindsightIncompleteHistoryException>(() => strict.Lines.TemporalAsOf(afterUpdate).ToListAsync());
        await Assert.ThrowsAsync<HindsightIncompleteHistoryException>(() => strict.Orders.TemporalFromTo(afterUpdate.AddHours(-1), afterUpdate).CountAsync());

        // A TRUNCATE empties the table: from then on the trail knows all of it.
        await h.ExecuteAsync("TRUNCATE order_lines, orders");
        await h.ExecuteAsync("INSERT INTO orders VALUES (3, 'new', 'Paid', 3, NULL, NULL, NULL, 0)");
        await h.CatchUpAsync();
        var afterTruncate = await h.ScalarAsync<DateTime>("SELECT now()");
        Assert.Equal([3], (await strict.Orders.TemporalAsOf(afterTruncate).ToListAsync()).Select(o => o.Id));
        Assert.Empty(await strict.Lines.TemporalAsOf(afterTruncate).ToListAsync());
        await Assert.ThrowsAsync<HindsightIncompleteHistoryException>(() => strict.Orders.TemporalAsOf(afterUpdate).ToListAsync());

        // A table created while tracked is complete from its creation.
        await h.ExecuteAsync("CREATE TABLE late (id int PRIMARY KEY, v text); INSERT INTO late VALUES (1, 'x')");
        await h.CatchUpAsync();
        Assert.Equal(1, await h.ScalarAsync<long>("SELECT count(*) FROM hindsight.schema_changes WHERE \"table\" = 'late' AND command_tag = 'CREATE TABLE'"));
        await using var late = new LateDb(new DbContextOptionsBuilder<LateDb>().UseNpgsql(h.ConnectionString)
            .UseHindsightTemporal(o => o.RequireCompleteHistory = true).Options);
        Assert.Equal(["x"], (await late.Rows.TemporalAsOf(DateTime.UtcNow).ToListAsync()).Select(r => r.V));
    }

    [Fact]
    public async Task Temporal_redacted_and_ignored_values_come_back_as_null_and_others_as_stored()
    {
        await using var h = await CaptureHarness.CreateAsync(fixture, TemporalShopDb.Sql);
        h.StartWorker(h.Options(o => new Hindsight.Worker.CaptureOptions
        {
            SourceConnectionString = o.SourceConnectionString, Slot = o.Slot, Publication = o.Publication,
            RedactColumns = ["orders.ship_street", "orders.notes"], IgnoreColumns = ["orders.ship_city"],
        }));
        await h.ExecuteAsync("""INSERT INTO orders VALUES (1, 'secret', 'Paid', 12.5, '{"a": 1}', 'Main', 'Oslo', 4)""");
        await h.CatchUpAsync();
        Assert.StartsWith("redacted:", await h.ScalarAsync<string>("SELECT after->>'notes' FROM hindsight.changes WHERE \"table\" = 'orders'"));
        Assert.StartsWith("redacted:", await h.ScalarAsync<string>("SELECT after->>'ship_street' FROM hindsight.changes WHERE \"table\" = 'orders'"));

        await using var db = new TemporalShopDb(TemporalShopDb.Options(h.ConnectionString));
        var row = Assert.Single(await db.Orders.TemporalAll().ToListAsync());
        Assert.Equal((1, "secret", OrderStatus.Paid, 12.5m, (string?)null, (string?)null, (string?)null, 4),
            (row.Id, row.Customer, row.Status, row.Total, row.Notes, row.Ship.Street, row.Ship.City, row.Revision));
    }

    [Fact]
    public async Task Temporal_queries_run_as_an_application_role_that_may_only_read_the_store()
    {
        await using var h = await CaptureHarness.CreateWithoutSetupAsync(fixture, TemporalShopDb.Sql);
        await h.SetupAsync(o => new Hindsight.Setup.SetupOptions
        {
            SourceConnectionString = o.SourceConnectionString, Slot = o.Slot, Publication = o.Publication, Schemas = o.Schemas, CreateRoles = true,
        });
        h.StartWorker();
        await h.ExecuteAsync("INSERT INTO orders VALUES (1, 'acme', 'New', 1, NULL, NULL, NULL, 1)");
        await h.ExecuteAsync("UPDATE orders SET revision = 2");
        await h.CatchUpAsync();
        var reader = $"app_r_{Guid.NewGuid():N}"[..20];
        var stranger = $"app_s_{Guid.NewGuid():N}"[..20];
        // Neither may read the tracked table itself; one is a member of hindsight_reader.
        await h.ExecuteAsync($"CREATE ROLE {reader} LOGIN; CREATE ROLE {stranger} LOGIN; GRANT hindsight_reader TO {reader}");
        string As(string role) => new Npgsql.NpgsqlConnectionStringBuilder(h.ConnectionString) { Username = role, Pooling = false }.ConnectionString;

        await using (var db = new TemporalShopDb(TemporalShopDb.Options(As(reader))))
            Assert.Equal([1, 2], (await db.Orders.TemporalAll().Select(o => o.Revision).ToListAsync()).Order());
        await using (var db = new TemporalShopDb(TemporalShopDb.Options(As(stranger))))
        {
            var e = await Assert.ThrowsAsync<Npgsql.PostgresException>(() => db.Orders.TemporalAll().ToListAsync());
            Assert.Equal(Npgsql.PostgresErrorCodes.InsufficientPrivilege, e.SqlState);
        }
        await h.StopWorkerAsync();
        await h.ExecuteAsync($"DROP ROLE {stranger}; REVOKE hindsight_reader FROM {reader}; DROP ROLE {reader}");
    }
}

/// <summary>A row of table <c>late</c>, created after setup.</summary>
public sealed class LateRow
{
    /// <summary>Key.</summary>
    public int Id { get; set; }
    /// <summary>Value.</summary>
    public string? V { get; set; }
}

/// <summary>A context over <c>late</c>.</summary>
public sealed class LateDb(DbContextOptions<LateDb> options) : DbContext(options)
{
    /// <summary>Rows.</summary>
    public DbSet<LateRow> Rows => Set<LateRow>();

    /// <inheritdoc />
    protected override void OnModelCreating(ModelBuilder b)
    {
        var r = b.Entity<LateRow>().ToTable("late");
        r.Property(x => x.Id).HasColumnName("id");
        r.Property(x => x.V).HasColumnName("v");
    }
}
