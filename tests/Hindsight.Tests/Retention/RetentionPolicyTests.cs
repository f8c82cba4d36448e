using Hindsight.Model;
using Hindsight.Retention;
using Hindsight.Setup;
using Hindsight.Tests.Infrastructure;
using Hindsight.Tests.Server.Api;
using Npgsql;
using Xunit;
using Xunit.Abstractions;

namespace Hindsight.Tests.Retention;

/// <summary>
/// Retention policies are applied by the worker, and by nothing the writer role could abuse: it may run the owner's
/// policies, not prune at will or delete. Holds are listed by status and the API.
/// </summary>
[Collection(PostgresCollection.Name)]
[Trait("Category", "PostgreSQL")]
public sealed class RetentionPolicyTests(PostgresFixture fixture, ITestOutputHelper output)
{
    /// <summary>Changes of <c>items</c> written straight into the store, committed 399.5 to 300.5 days ago, one per day.</summary>
    private const string OldChanges =
        """
        INSERT INTO hindsight.changes (source, database, schema, "table", primary_key, operation, after, committed_at, transaction_id, position, commit_lsn, ordinal, queued_at)
        SELECT 'old', 'old', 'public', 'items', (g % 10)::text, 'UPDATE', jsonb_build_object('id', g % 10, 'v', g),
               now() - (401 - g) * interval '1 day' + interval '12 hours', g, g, g, 1, now()
        FROM generate_series(1, 100) g
        """;

    [Fact]
    public async Task The_worker_applies_a_policy_and_the_writer_role_may_only_apply_policies()
    {
        await using var h = await CaptureHarness.CreateWithoutSetupAsync(fixture, "CREATE TABLE items (id int PRIMARY KEY, v text)");
        await h.SetupAsync(o => new SetupOptions
        {
            SourceConnectionString = o.SourceConnectionString, Slot = o.Slot, Publication = o.Publication, Schemas = o.Schemas, CreateRoles = true,
        });
        await h.ExecuteAsync(OldChanges);
        await h.ExecuteAsync("INSERT INTO items VALUES (1, 'now')");
        var policy = await new Pruner(h.Source).SetPolicyAsync(new TableName(null, "items"), TimeSpan.FromDays(350));
        Assert.Equal(("public", "items"), (policy.Schema, policy.Table));
        // Every other table: 30 days. items keeps its own, longer policy.
        await h.ExecuteAsync(OldChanges.Replace("'items'", "'other'", StringComparison.Ordinal));
        await new Pruner(h.Source).SetPolicyAsync(new TableName("*", "*"), TimeSpan.FromDays(30));

        // The writer role (what the worker logs in as with setup --create-roles): the owner's policies, nothing more.
        await using (var conn = await h.Source.OpenConnectionAsync())
        {
            await using var tx = await conn.BeginTransactionAsync();
            await new NpgsqlCommand("SET LOCAL ROLE hindsight_writer", conn, tx).ExecuteNonQueryAsync();
            await using var save = new NpgsqlCommand("SAVEPOINT s", conn, tx);
            foreach (var sql in new[] { "SELECT * FROM hindsight.prune_changes(now())", "DELETE FROM hindsight.changes", "DELETE FROM hindsight.legal_holds",
                                        "INSERT INTO hindsight.retention_policies (schema, \"table\", keep) VALUES ('*', '*', '1 hour')" })
            {
                await save.ExecuteNonQueryAsync();
                var refused = await Assert.ThrowsAsync<PostgresException>(() => new NpgsqlCommand(sql, conn, tx).ExecuteNonQueryAsync());
                Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, refused.SqlState);
                await new NpgsqlCommand("ROLLBACK TO SAVEPOINT s", conn, tx).ExecuteNonQueryAsync();
            }
            await tx.RollbackAsync();
        }

        // The worker applies it when its session starts.
        h.StartWorker();
        await h.CatchUpAsync();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (await h.ScalarAsync<long>("SELECT count(DISTINCT \"table\") FROM hindsight.prunes") < 2)
        {
            Assert.True(DateTime.UtcNow < deadline, "the worker did not apply the retention policy within 30 s");
            await Task.Delay(200);
        }
        await h.StopWorkerAsync();
        var kept = await h.ScalarAsync<long>("SELECT count(*) FROM hindsight.changes WHERE source = 'old' AND operation = 'UPDATE'");
        output.WriteLine($"old changes kept: {kept}");
        Assert.Equal(50L, kept); // the 50 days younger than 350
        Assert.Equal(10L, await h.ScalarAsync<long>("SELECT count(*) FROM hindsight.changes WHERE source = 'old' AND \"table\" = 'items' AND operation = 'SNAPSHOT'"));
        Assert.Equal(1L, await h.ScalarAsync<long>("SELECT count(*) FROM hindsight.changes WHERE source <> 'old'")); // the captured insert
        Assert.Equal(50L, await h.ScalarAsync<long>("SELECT pruned FROM hindsight.prunes WHERE \"table\" = 'items'"));
        Assert.Equal(100L, await h.ScalarAsync<long>("SELECT pruned FROM hindsight.prunes WHERE \"table\" = 'other'"));
        Assert.Equal(0L, await h.ScalarAsync<long>("SELECT count(*) FROM hindsight.changes WHERE \"table\" = 'other' AND operation <> 'SNAPSHOT'"));
    }

    [Fact]
    public async Task Holds_are_listed_by_status_and_the_api()
    {
        await using var s = await ApiServer.StartAsync(fixture);
        var h = s.Harness;
        await h.ExecuteAsync(OldChanges);
        var pruner = new Pruner(h.Source);
        var hold = await pruner.HoldAsync(new TableName(null, "items"), "3", null, "ticket LEGAL-7");
        // Longer than the oldest change is old: a worker that applies it meanwhile prunes nothing the purge check counts.
        await pruner.SetPolicyAsync(new TableName("*", "*"), TimeSpan.FromDays(1000));

        var (status, body) = await s.GetAsync("/api/retention");
        Assert.Equal(200, status);
        var listed = body!["holds"]!.AsArray().Single()!;
        Assert.Equal(hold.Id, (long)listed["id"]!);
        Assert.Equal(("public", "items", "3", "ticket LEGAL-7"), ((string)listed["schema"]!, (string)listed["table"]!, (string)listed["primary_key"]!, (string)listed["reason"]!));
        Assert.Equal(1000L * 86400, (long)body["policies"]!.AsArray().Single()!["keep_seconds"]!);

        var (code, text, _) = await CliRun.RunAsync(output, "status", "--source", h.ConnectionString);
        Assert.Contains($"{hold.Id}: table public.items, key 3 (ticket LEGAL-7)", text);
        Assert.True(code is 0 or 2, $"status exited {code}");
        (code, text, _) = await CliRun.RunAsync(output, "hold", "list", "--source", h.ConnectionString);
        Assert.Equal(0, code);
        Assert.Contains("ticket LEGAL-7", text);

        // A purge would delete what the hold keeps: refused before anything is dropped.
        var changes = await h.ScalarAsync<long>("SELECT count(*) FROM hindsight.changes");
        (code, _, var err) = await CliRun.RunAsync(output, "teardown", "--purge", "--force", "--source", h.ConnectionString);
        Assert.Equal(1, code);
        Assert.Contains("legal hold", err);
        Assert.Equal(changes, await h.ScalarAsync<long>("SELECT count(*) FROM hindsight.changes"));
    }
}
