using Hindsight.Model;
using Hindsight.Query;
using Hindsight.Revert;
using Hindsight.Tests.Infrastructure;
using Xunit;

namespace Hindsight.Tests.Revert;

/// <summary>
/// Columns named like the aliases of the revert's own SQL (t, k, ki, g, n, a, b, e): a revert and a rollback of such a
/// table are compared by PostgreSQL with a copy taken before the changes.
/// </summary>
[Collection(PostgresCollection.Name)]
[Trait("Category", "PostgreSQL")]
public sealed class RevertColumnNameTests(PostgresFixture fixture)
{
    private const string Schema =
        """
        CREATE TABLE odd (id int PRIMARY KEY, t int, k text, ki int, g int, n int, a int, b int, e text, key text, target int, newest int);
        INSERT INTO odd SELECT i, i, 'k' || i, i, i, i, i, i, 'e', 'x', i, i FROM generate_series(1, 5) i;
        CREATE SCHEMA copies; -- not captured: the harness tracks schema public
        """;

    [Fact]
    public async Task A_table_whose_columns_are_named_like_the_aliases_is_reverted_and_rolled_back()
    {
        await using var h = await CaptureHarness.CreateAsync(fixture, Schema);
        h.StartWorker();
        await h.ExecuteAsync("UPDATE odd SET t = t + 100, n = n * 2"); // a change of every row before the moment, so their state then is known
        await h.CatchUpAsync();
        var at = await TableCopies.CopyAsync(h, "then", ["odd"]);

        await h.ExecuteAsync(
            """
            BEGIN;
            UPDATE odd SET t = -1, k = 'changed', ki = -1, g = -1, n = -1, a = -1, b = -1, e = 'changed', key = 'y', target = -1, newest = -1 WHERE id = 1;
            DELETE FROM odd WHERE id = 2;
            INSERT INTO odd VALUES (9, 9, 'k9', 9, 9, 9, 9, 9, 'e', 'x', 9, 9);
            COMMIT;
            """);
        await h.CatchUpAsync();
        var xid = await h.ScalarAsync<long>("SELECT transaction_id FROM hindsight.changes WHERE primary_key = '9'");

        var reverter = new Reverter(h.Source, h.Source);
        var plan = await reverter.PlanAsync(new RevertSelection { TransactionId = xid });
        Assert.Empty(plan.Conflicts);
        await reverter.ApplyAsync(plan);
        Assert.Equal("", await TableCopies.DifferenceAsync(h, "odd", "then"));

        // Changed again, then rolled back to the moment.
        await h.ExecuteAsync("UPDATE odd SET g = 0, key = 'z' WHERE id = 3; DELETE FROM odd WHERE id = 1");
        await h.CatchUpAsync();
        var rollback = await reverter.PlanAsync(new RevertSelection { RollbackTo = new RollbackTarget([new TableName("public", "odd")], at) });
        Assert.Empty(rollback.Conflicts);
        await reverter.ApplyAsync(rollback);
        Assert.Equal("", await TableCopies.DifferenceAsync(h, "odd", "then"));
    }
}
