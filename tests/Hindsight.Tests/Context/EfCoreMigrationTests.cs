using Hindsight.Query;
using Hindsight.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Xunit;

namespace Hindsight.Tests.Context;

/// <summary>A database migrated by EF Core (two migrations, no model: only the migrations matter here).</summary>
public sealed class MigratedDb(DbContextOptions<MigratedDb> options) : DbContext(options);

/// <summary>The first migration: creates the table.</summary>
[DbContext(typeof(MigratedDb))]
[Migration("20261203110000_CreatePerson")]
public sealed class CreatePerson : Migration
{
    /// <inheritdoc />
    protected override void Up(MigrationBuilder migrationBuilder) =>
        migrationBuilder.CreateTable("person", c => new { id = c.Column<int>(), email = c.Column<string>(nullable: true) },
            constraints: t => t.PrimaryKey("pk_person", x => x.id));
}

/// <summary>The second migration: renames a column.</summary>
[DbContext(typeof(MigratedDb))]
[Migration("20261203120000_RenameEmail")]
public sealed class RenameEmail : Migration
{
    /// <inheritdoc />
    protected override void Up(MigrationBuilder migrationBuilder) =>
        migrationBuilder.RenameColumn(name: "email", table: "person", newName: "contact_email");
}

/// <summary>
/// EF Core migrations show up in the trail under their migration id, whoever runs them and without Hindsight's EF Core
/// integration: the id comes from the migration's row in <c>__EFMigrationsHistory</c>, written in the same transaction.
/// </summary>
[Collection(PostgresCollection.Name)]
[Trait("Category", "PostgreSQL")]
public sealed class EfCoreMigrationTests(PostgresFixture fixture)
{
    [Fact]
    public async Task Each_schema_change_of_a_migration_carries_its_migration_id()
    {
        await using var h = await CaptureHarness.CreateAsync(fixture, "SELECT 1");
        h.StartWorker();
        var options = new DbContextOptionsBuilder<MigratedDb>()
            .UseNpgsql(h.ConnectionString)
            .ConfigureWarnings(w => w.Ignore(RelationalEventId.PendingModelChangesWarning))
            .Options;
        await using (var db = new MigratedDb(options)) await db.Database.MigrateAsync();
        await h.CatchUpAsync();

        var list = (await new AuditTrail(h.Source).SchemaChangesAsync(new SchemaChangeFilter { Tables = [new("public", "person")] })).Reverse().ToList();
        Assert.Equal(["CREATE TABLE", "ALTER TABLE"], list.Select(s => s.CommandTag));
        Assert.Equal(["20261203110000_CreatePerson", "20261203120000_RenameEmail"], list.Select(s => s.Context["migrationId"]!.GetValue<string>()));
        Assert.Equal(["column email renamed to contact_email"], list[1].Effects);
        await h.StopWorkerAsync();
    }
}
