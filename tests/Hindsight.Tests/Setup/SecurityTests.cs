using Hindsight.Model;
using Hindsight.Query;
using Hindsight.Setup;
using Hindsight.Tests.Infrastructure;
using Npgsql;
using Xunit;

namespace Hindsight.Tests.Setup;

/// <summary>
/// Least privilege (<c>setup --create-roles</c>) and forged context (<c>setup --trusted-context-roles</c>), checked by
/// logging in as each role and letting PostgreSQL itself allow or refuse.
/// </summary>
[Collection(PostgresCollection.Name)]
[Trait("Category", "PostgreSQL")]
public sealed class SecurityTests(PostgresFixture fixture)
{
    private const string Schema = "CREATE TABLE items (id int PRIMARY KEY, v text);";

    [Fact]
    public async Task Created_roles_capture_append_and_read_but_none_can_rewrite_the_trail()
    {
        await using var h = await CaptureHarness.CreateWithoutSetupAsync(fixture, Schema);
        var report = await h.SetupAsync(o => Options(o, createRoles: true));
        Assert.Contains(report.Roles, r => r.StartsWith("hindsight_writer: INSERT on hindsight.changes", StringComparison.Ordinal));
        Assert.Contains("roles        hindsight_capture: REPLICATION, member of hindsight_writer", report.ToText());
        // Idempotent: a second run converges on the same grants.
        await h.SetupAsync(o => Options(o, createRoles: true));

        // The test logs in as the roles (the private server trusts local connections; a real one would use passwords).
        await h.ExecuteAsync("ALTER ROLE hindsight_capture LOGIN; ALTER ROLE hindsight_reader LOGIN");
        var asCapture = As(h, "hindsight_capture");
        var keyDir = Directory.CreateTempSubdirectory("hindsight-key-");
        using (Hindsight.Chain.SigningKey.Create(Path.Combine(keyDir.FullName, "signing.key"))) { }
        h.StartWorker(h.Options(o => new()
        {
            SourceConnectionString = asCapture, Slot = o.Slot, Publication = o.Publication,
            SigningKeyPath = Path.Combine(keyDir.FullName, "signing.key"), CheckpointInterval = TimeSpan.FromMilliseconds(200),
        }));
        await h.ExecuteAsync("INSERT INTO items VALUES (1, 'a'), (2, 'b'); UPDATE items SET v = 'c' WHERE id = 1; DELETE FROM items WHERE id = 2");
        await h.CatchUpAsync();
        Assert.Equal(4, await h.ScalarAsync<long>("SELECT count(*) FROM hindsight.changes WHERE \"table\" = 'items'"));
        // The writer role chains what it stores and records its checkpoints; the reader verifies them.
        var waited = DateTime.UtcNow;
        while (await h.ScalarAsync<long>("SELECT count(*) FROM hindsight.checkpoints WHERE changes >= 4") == 0)
        {
            Assert.True(DateTime.UtcNow - waited < TimeSpan.FromSeconds(20), "the worker, as hindsight_capture, recorded no checkpoint");
            await Task.Delay(100);
        }
        await using (var reader = NpgsqlDataSource.Create(As(h, "hindsight_reader")))
        {
            var chain = await new Hindsight.Chain.TrailVerifier(reader).VerifyAsync();
            Assert.True(chain.Intact, string.Join("\n", chain.Breaks.Select(b => b.Detail)));
            Assert.True(chain.Sources.Single().CheckpointsChecked > 0);
        }
        keyDir.Delete(recursive: true);

        // Append-only: the worker's own role cannot rewrite or remove what it stored.
        await using (var capture = NpgsqlDataSource.Create(asCapture))
        {
            foreach (var sql in new[]
                     {
                         "UPDATE hindsight.changes SET context = '{\"userId\":\"someone-else\"}'",
                         "DELETE FROM hindsight.changes",
                         "TRUNCATE hindsight.changes",
                         "UPDATE hindsight.settings SET value = 'x'",
                         "DELETE FROM hindsight.progress",
                         "UPDATE hindsight.chain_blocks SET hash = prev_hash",
                         "DELETE FROM hindsight.chain_blocks",
                         "DELETE FROM hindsight.checkpoints",
                     })
                Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, await SqlStateAsync(capture, sql));
        }
        await using (var reader = NpgsqlDataSource.Create(As(h, "hindsight_reader")))
        {
            var page = await new AuditTrail(reader).QueryAsync(new ChangeFilter { Tables = [new TableName(null, "items")] });
            Assert.Equal(4, page.Changes.Count);
            foreach (var sql in new[]
                     {
                         "INSERT INTO hindsight.changes (source, database, schema, \"table\", operation, committed_at, transaction_id, position, commit_lsn, ordinal, queued_at) VALUES ('x','x','x','x','CREATE',now(),1,1,1,1,now())",
                         "UPDATE hindsight.changes SET context = '{}'",
                         "DELETE FROM hindsight.changes",
                         "UPDATE hindsight.progress SET last_commit_lsn = 0",
                     })
                Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, await SqlStateAsync(reader, sql));
        }
        await h.StopWorkerAsync();
        await h.ExecuteAsync("ALTER ROLE hindsight_capture NOLOGIN; ALTER ROLE hindsight_reader NOLOGIN");
    }

    [Fact]
    public async Task Only_trusted_roles_can_attribute_changes_and_teardown_gives_the_right_back()
    {
        await using var h = await CaptureHarness.CreateWithoutSetupAsync(fixture, Schema +
            """
            DO $$ BEGIN
              IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'app_trusted') THEN CREATE ROLE app_trusted LOGIN; END IF;
              IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'app_other') THEN CREATE ROLE app_other LOGIN; END IF;
            END $$;
            GRANT ALL ON items TO app_trusted, app_other;
            """);
        var before = await h.SetupAsync();
        Assert.Null(before.ContextEmitters);
        Assert.Contains("any database user may emit context", before.ToText());

        // Bad input changes nothing.
        var unknown = await Assert.ThrowsAsync<SetupException>(() => h.SetupAsync(o => Options(o, trusted: ["app_trusted", "no_such_role"])));
        Assert.Contains("no role named no_such_role", unknown.Message);
        var mixed = await Assert.ThrowsAsync<SetupException>(() => h.SetupAsync(o => Options(o, trusted: ["public", "app_trusted"])));
        Assert.Contains("cannot be combined", mixed.Message);
        var notSuper = await Assert.ThrowsAsync<SetupException>(() => new SetupRunner(new SetupOptions
        {
            SourceConnectionString = As(h, "app_trusted"), Slot = h.Slot, Publication = h.Slot, Tables = ["items"], TrustedContextRoles = ["app_trusted"],
        }).RunAsync());
        Assert.Contains("not a superuser", notSuper.Message);
        Assert.Null((await h.SetupAsync()).ContextEmitters);

        var report = await h.SetupAsync(o => Options(o, trusted: ["app_trusted"], bemi: true));
        Assert.Contains("app_trusted", report.ContextEmitters!);
        Assert.DoesNotContain("app_other", report.ContextEmitters!);
        h.StartWorker();

        await using var other = NpgsqlDataSource.Create(As(h, "app_other"));
        await using var trusted = NpgsqlDataSource.Create(As(h, "app_trusted"));
        // An untrusted user cannot emit context at all …
        Assert.Equal(PostgresErrorCodes.InsufficientPrivilege,
            await SqlStateAsync(other, "SELECT pg_logical_emit_message(true, 'hindsight', '{\"userId\":\"alice\"}')"));
        // … and a Bemi comment from it is ignored: the write goes through, attributed to nobody.
        await ExecAsync(other, "INSERT INTO items VALUES (1, 'by other') /*Bemi {\"userId\":\"alice\"} Bemi*/");
        await ExecAsync(trusted, "BEGIN; SELECT pg_logical_emit_message(true, 'hindsight', '{\"userId\":\"bob\"}'); INSERT INTO items VALUES (2, 'by trusted'); COMMIT;");
        await ExecAsync(trusted, "INSERT INTO items VALUES (3, 'by trusted, bemi') /*Bemi {\"userId\":\"carol\"} Bemi*/");
        await h.CatchUpAsync();
        var contexts = await h.RowsAsync("SELECT primary_key, context::text FROM hindsight.changes WHERE \"table\" = 'items' ORDER BY id");
        Assert.Equal(["1", "{}"], contexts[0]);
        Assert.Equal(["2", "{\"userId\": \"bob\"}"], contexts[1]);
        Assert.Equal(["3", "{\"userId\": \"carol\"}"], contexts[2]);
        await h.StopWorkerAsync();

        var teardown = await new TeardownRunner(new TeardownOptions { SourceConnectionString = h.ConnectionString, Slot = h.Slot, Publication = h.Slot }).RunAsync();
        Assert.Contains(teardown.Notes, n => n.Contains("may emit logical messages again", StringComparison.Ordinal));
        await ExecAsync(other, "SELECT pg_logical_emit_message(true, 'hindsight', '{}')");
    }

    private static SetupOptions Options(SetupOptions o, bool createRoles = false, IReadOnlyList<string>? trusted = null, bool bemi = false) => new()
    {
        SourceConnectionString = o.SourceConnectionString, Slot = o.Slot, Publication = o.Publication, Schemas = o.Schemas,
        CreateRoles = createRoles, TrustedContextRoles = trusted ?? [], BemiCompat = bemi,
    };

    private static string As(CaptureHarness h, string user) =>
        new NpgsqlConnectionStringBuilder(h.ConnectionString) { Username = user, Password = null, Pooling = false }.ConnectionString;

    private static async Task ExecAsync(NpgsqlDataSource db, string sql)
    {
        await using var cmd = db.CreateCommand(sql);
        await cmd.ExecuteNonQueryAsync();
    }

    private static async Task<string?> SqlStateAsync(NpgsqlDataSource db, string sql)
    {
        try
        {
            await ExecAsync(db, sql);
            return null;
        }
        catch (PostgresException e) { return e.SqlState; }
    }
}
