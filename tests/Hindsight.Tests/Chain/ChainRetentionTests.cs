using Hindsight.Chain;
using Hindsight.Model;
using Hindsight.Retention;
using Hindsight.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace Hindsight.Tests.Chain;

/// <summary>
/// Retention and the chain: pruned changes leave their leaves in the blocks, so what remains still verifies against a
/// checkpoint signed before the prune; a change deleted by hand is not passed off as pruned.
/// </summary>
[Collection(PostgresCollection.Name)]
[Trait("Category", "PostgreSQL")]
public sealed class ChainRetentionTests(PostgresFixture fixture, ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hindsight-chain-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task A_pruned_trail_verifies_against_a_checkpoint_signed_before_the_prune_and_a_deletion_is_not_passed_off_as_pruning()
    {
        await using var h = await CaptureHarness.CreateAsync(fixture, ChainWorkload.Schema);
        h.StartWorker();
        await ChainWorkload.RunAsync(h, accounts: 12, streamed: false);
        await Task.Delay(50); // the later changes commit after the horizon below
        await h.ExecuteAsync("UPDATE accounts SET balance = balance + 1");
        await h.CatchUpAsync();
        await h.StopWorkerAsync();
        var source = await h.ScalarAsync<string>("SELECT name FROM hindsight.sources");
        using var key = SigningKey.Create(Path.Combine(_dir, "signing.key"));
        var before = (await new Checkpoints(h.Source).MakeAsync(source, key))!;

        // Everything but the last transaction is older than the horizon; account 3's changes are held.
        var horizon = await h.ScalarAsync<DateTime>("SELECT max(committed_at) FROM hindsight.changes");
        var pruner = new Pruner(h.Source);
        await pruner.HoldAsync(new TableName("public", "accounts"), "3", null, "litigation");
        var pruned = await pruner.PruneAsync(new DateTimeOffset(horizon, TimeSpan.Zero), []);
        var prunedCount = pruned.Tables.Sum(t => t.Pruned);
        Assert.True(prunedCount > 50, $"pruned {prunedCount}");

        var report = await new TrailVerifier(h.Source).VerifyAsync(new VerificationOptions { Checkpoints = [before], PublicKey = key.PublicKey });
        output.WriteLine(ChainTamperTests.Describe(report));
        Assert.True(report.Intact, ChainTamperTests.Describe(report));
        var s = report.Sources.Single();
        Assert.Equal(prunedCount, s.PrunedChanges);
        Assert.Equal(await h.ScalarAsync<long>("SELECT count(*) FROM hindsight.changes WHERE ordinal > 0"), s.VerifiedChanges);
        Assert.Equal(await h.ScalarAsync<long>("SELECT count(*) FROM hindsight.changes WHERE ordinal < 0"), s.UnchainedRows);
        Assert.True(s.CheckpointsChecked >= 1);

        // A held change older than the horizon deleted by hand looks pruned by its age, but the prune log does not account for it.
        await h.ExecuteAsync("DELETE FROM hindsight.changes WHERE id = (SELECT min(id) FROM hindsight.changes WHERE \"table\" = 'accounts' AND primary_key = '3' AND ordinal > 0)");
        var deleted = await new TrailVerifier(h.Source).VerifyAsync();
        output.WriteLine(ChainTamperTests.Describe(deleted));
        Assert.False(deleted.Intact);
        Assert.Equal(ChainBreakKind.ChangeDeleted, deleted.Breaks[0].Kind);
        Assert.Contains("the prune log accounts for", deleted.Breaks[0].Detail);
    }
}
