using Hindsight.Chain;
using Hindsight.Tests.Infrastructure;
using Npgsql;
using Xunit;
using Xunit.Abstractions;

namespace Hindsight.Tests.Chain;

/// <summary>
/// The chain against a superuser who rewrites the store: each kind of tampering is made for real on a captured trail,
/// verification must name it (and the change), and the trail must verify again once it is restored. The counts are
/// PostgreSQL's own.
/// </summary>
[Collection(PostgresCollection.Name)]
[Trait("Category", "PostgreSQL")]
public sealed class ChainTamperTests(PostgresFixture fixture, ITestOutputHelper output)
{
    [Fact]
    public async Task Each_kind_of_tampering_is_detected_and_named_and_a_restored_trail_verifies_again()
    {
        await using var h = await CaptureHarness.CreateAsync(fixture, ChainWorkload.Schema);
        h.StartWorker();
        await ChainWorkload.RunAsync(h, accounts: 15);
        await h.CatchUpAsync();
        await h.StopWorkerAsync();
        var verifier = new TrailVerifier(h.Source);

        var clean = await verifier.VerifyAsync();
        var stored = await h.ScalarAsync<long>("SELECT count(*) FROM hindsight.changes WHERE ordinal > 0");
        Assert.True(clean.Intact, Describe(clean));
        Assert.True(stored > 3000, $"the workload stored {stored} changes");
        Assert.Equal(stored, clean.Sources.Single().VerifiedChanges);
        Assert.Equal(stored, clean.Sources.Single().ChainedChanges);
        Assert.True(clean.Sources.Single().Blocks >= 2, $"several store commits, several blocks ({clean.Sources.Single().Blocks})");

        // The streamed transaction's 3,000 changes are split into blocks of at most 1,024; a change in the middle of it is
        // proved from its own block, and the proof holds against a signed checkpoint.
        Assert.Equal(0L, await h.ScalarAsync<long>($"SELECT count(*) FROM hindsight.chain_blocks WHERE changes > {ChainWriter.MaxBlockChanges}"));
        var keyDir = Directory.CreateTempSubdirectory("hindsight-key-");
        using (var key = SigningKey.Create(Path.Combine(keyDir.FullName, "signing.key")))
        {
            await new Checkpoints(h.Source).MakeAsync(clean.Sources.Single().Source, key);
            var middle = await h.ScalarAsync<long>("SELECT id FROM hindsight.changes WHERE \"table\" = 'lines' AND primary_key = '[1000,2000]'");
            var proof = await verifier.ProveAsync(middle);
            Assert.Null(proof.Problem(key.PublicKey));
            Assert.True(proof.PathLength < 40, $"a proof of {proof.PathLength} hashes");
            Assert.True((await verifier.VerifyChangeAsync(middle))!.State == ChangeVerificationState.Verified);
        }
        keyDir.Delete(recursive: true);

        await h.ExecuteAsync("CREATE TABLE pristine AS SELECT * FROM hindsight.changes");
        long Id(string sql) => h.ScalarAsync<long>(sql).GetAwaiter().GetResult();
        var updated = Id("SELECT id FROM hindsight.changes WHERE \"table\" = 'accounts' AND operation = 'UPDATE' ORDER BY id LIMIT 1");
        var withContext = Id("SELECT id FROM hindsight.changes WHERE context ? 'user' ORDER BY id DESC LIMIT 1");
        var deleted = Id("SELECT id FROM hindsight.changes WHERE \"table\" = 'lines' ORDER BY id LIMIT 1 OFFSET 7");
        var (a, b) = (Id("SELECT id FROM hindsight.changes WHERE \"table\" = 'accounts' ORDER BY id LIMIT 1 OFFSET 3"),
                      Id("SELECT id FROM hindsight.changes WHERE \"table\" = 'accounts' ORDER BY id LIMIT 1 OFFSET 9"));

        var cases = new (string Name, string Sql, ChainBreakKind Kind, long? ChangeId)[]
        {
            ("an image value changed", $"UPDATE hindsight.changes SET after = jsonb_set(after, '{{balance}}', '999999') WHERE id = {updated}",
                ChainBreakKind.ValueChanged, updated),
            ("the context (the who) changed", $$"""UPDATE hindsight.changes SET context = '{"user": "mallory"}' WHERE id = {{withContext}}""",
                ChainBreakKind.ValueChanged, withContext),
            ("a change deleted", $"DELETE FROM hindsight.changes WHERE id = {deleted}", ChainBreakKind.ChangeDeleted, null),
            ("a forged change inserted",
                $$"""
                INSERT INTO hindsight.changes (source, database, schema, "table", primary_key, operation, before, after, context, committed_at,
                                               transaction_id, position, commit_lsn, ordinal, queued_at)
                SELECT source, database, schema, "table", '424242', 'CREATE', '{}', '{"id": 424242, "owner": "forged"}', '{"user": "u1"}',
                       committed_at, transaction_id, position, commit_lsn, 999, queued_at
                  FROM hindsight.changes WHERE id = {{updated}}
                """, ChainBreakKind.ChangeInserted, null),
            ("two changes' commit LSNs swapped",
                $"""
                UPDATE hindsight.changes SET commit_lsn = -commit_lsn WHERE id = {a};
                UPDATE hindsight.changes SET commit_lsn = (SELECT -commit_lsn FROM hindsight.changes WHERE id = {a}) WHERE id = {b};
                UPDATE hindsight.changes SET commit_lsn = (SELECT commit_lsn FROM pristine WHERE id = {b}) WHERE id = {a};
                """, ChainBreakKind.ChangesReordered, null),
        };
        foreach (var (name, sql, kind, changeId) in cases)
        {
            await h.ExecuteAsync(sql);
            var report = await verifier.VerifyAsync();
            output.WriteLine($"{name}:\n{Describe(report)}");
            Assert.False(report.Intact, $"{name}: not detected");
            var first = report.Breaks[0];
            Assert.True(first.Kind == kind, $"{name}: the first break is {first.Kind}, not {kind}: {first.Detail}");
            if (changeId is { } id) Assert.True(first.ChangeId == id, $"{name}: the break names change {first.ChangeId}, not {id}");
            if (kind == ChainBreakKind.ChangeInserted)
                Assert.Equal(await h.ScalarAsync<long>("SELECT max(id) FROM hindsight.changes"), first.ChangeId);
            if (kind == ChainBreakKind.ChangesReordered)
                Assert.Equal(new[] { a, b }, report.Breaks.Where(x => x.Kind == kind).Select(x => x.ChangeId!.Value).Order().ToArray());
            if (kind == ChainBreakKind.ChangeDeleted)
            {
                var (lsn, ordinal) = (await h.ScalarAsync<long>($"SELECT commit_lsn FROM pristine WHERE id = {deleted}"),
                                      await h.ScalarAsync<int>($"SELECT ordinal FROM pristine WHERE id = {deleted}"));
                Assert.Equal(((ulong)lsn, ordinal), (first.CommitLsn, first.Ordinal));
            }
            await RestoreAsync(h);
            Assert.True((await verifier.VerifyAsync()).Intact, $"after restoring from '{name}', the trail should verify again");
        }
    }

    /// <summary>Puts the change table back as it was captured (the copy in <c>pristine</c>).</summary>
    internal static Task RestoreAsync(CaptureHarness h) => h.ExecuteAsync(
        """
        DELETE FROM hindsight.changes;
        INSERT INTO hindsight.changes OVERRIDING SYSTEM VALUE SELECT * FROM pristine;
        """);

    internal static string Describe(VerificationReport report) =>
        string.Join("\n", report.Sources.Select(s => $"{s.Source}: {s.Blocks} blocks, {s.VerifiedChanges} verified, {s.ChainedChanges} chained")
            .Concat(report.Breaks.Select(b => $"  {b.Kind}: {b.Detail}")));
}
