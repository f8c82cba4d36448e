using System.Text.Json;
using System.Text.Json.Nodes;
using Hindsight.Chain;
using Hindsight.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace Hindsight.Tests.Chain;

/// <summary>
/// The chain as its users meet it: the worker signing checkpoints into a directory on a schedule, <c>hindsight verify</c>
/// against those files and a public key kept apart, inclusion proofs checked offline, and every kind of bad input.
/// </summary>
[Collection(PostgresCollection.Name)]
[Trait("Category", "PostgreSQL")]
public sealed class ChainCliTests(PostgresFixture fixture, ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hindsight-chain-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Signed_checkpoints_catch_a_rewritten_chain_and_forged_files_and_proofs_check_offline()
    {
        var keyPath = Path.Combine(_dir, "signing.key");
        var checkpoints = Path.Combine(_dir, "checkpoints");
        await using var h = await CaptureHarness.CreateAsync(fixture, ChainWorkload.Schema);
        // setup makes the key when it is missing, records its public half in the store, and prints it.
        var setup = await CliRun.RunAsync(output, "setup", "--source", h.ConnectionString, "--slot", h.Slot, "--publication", h.Slot, "--signing-key", keyPath);
        Assert.Equal(0, setup.Code);
        Assert.Contains("-----BEGIN PUBLIC KEY-----", setup.Out);
        var pub = await CliRun.RunAsync("public-key", "--signing-key", keyPath, "--out", Path.Combine(_dir, "pub.pem"));
        Assert.Equal(0, pub.Code);
        var publicKey = Path.Combine(_dir, "pub.pem");

        h.StartWorker(h.Options(o => new()
        {
            SourceConnectionString = o.SourceConnectionString, Slot = o.Slot, Publication = o.Publication,
            SigningKeyPath = keyPath, CheckpointInterval = TimeSpan.FromMilliseconds(300), CheckpointDirectory = checkpoints,
        }));
        await ChainWorkload.RunAsync(h, accounts: 12, streamed: false);
        await h.CatchUpAsync();
        // The worker's schedule signs the head it sees: wait for a file that covers the whole chain.
        var blocks = await h.ScalarAsync<long>("SELECT count(*) FROM hindsight.chain_blocks");
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!Directory.Exists(checkpoints) || !Directory.GetFiles(checkpoints, "*.json").Select(Checkpoints.ReadFile).Any(c => c.Checkpoint.Blocks == blocks))
        {
            Assert.True(DateTime.UtcNow < deadline, "the worker wrote no checkpoint of the whole chain");
            await Task.Delay(100);
        }
        await h.StopWorkerAsync();

        var store = new[] { "--source", h.ConnectionString };
        var intact = await CliRun.RunAsync(output, [.. store, "verify", "--checkpoint", checkpoints, "--public-key", publicKey]);
        Assert.Equal(0, intact.Code);
        Assert.Contains("intact", intact.Out);

        // An inclusion proof: printed as JSON, checked offline with the public key; altered, it fails.
        var changeId = await h.ScalarAsync<long>("SELECT id FROM hindsight.changes WHERE \"table\" = 'accounts' AND operation = 'UPDATE' ORDER BY id LIMIT 1");
        var proved = await CliRun.RunAsync(output, [.. store, "verify", "--change", changeId.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        Assert.Equal(0, proved.Code);
        var proof = JsonNode.Parse(proved.Out)!.AsObject();
        Assert.Equal(changeId, proof["change"]!["id"]!.GetValue<long>());
        Assert.Equal(await h.ScalarAsync<string>("SELECT after::text FROM hindsight.changes WHERE id = $1", changeId), proof["change"]!["after"]!.GetValue<string>());
        var proofFile = Path.Combine(_dir, "proof.json");
        await File.WriteAllTextAsync(proofFile, proved.Out);
        var holds = await CliRun.RunAsync(output, "verify", "--proof", proofFile, "--public-key", publicKey);
        Assert.Equal(0, holds.Code);
        Assert.Contains("proof holds", holds.Out);
        proof["change"]!["context"] = """{"user": "mallory"}""";
        await File.WriteAllTextAsync(proofFile, proof.ToJsonString());
        var altered = await CliRun.RunAsync(output, "verify", "--proof", proofFile, "--public-key", publicKey);
        Assert.Equal(3, altered.Code);
        Assert.Contains("does NOT hold", altered.Out);

        // A checkpoint file whose count was edited fails its signature.
        var file = Directory.GetFiles(checkpoints, "*.json").Order().Last();
        var forged = JsonNode.Parse(await File.ReadAllTextAsync(file))!.AsObject();
        forged["changes"] = forged["changes"]!.GetValue<long>() - 1;
        var forgedFile = Path.Combine(_dir, "forged.json");
        await File.WriteAllTextAsync(forgedFile, forged.ToJsonString());
        var signature = await CliRun.RunAsync(output, [.. store, "verify", "--checkpoint", forgedFile, "--public-key", publicKey]);
        Assert.Equal(3, signature.Code);
        Assert.Contains("checkpoint signature fails", signature.Out);

        // Checked against another key, the genuine checkpoints are refused.
        using (var other = SigningKey.Create(Path.Combine(_dir, "other.key")))
            await File.WriteAllTextAsync(Path.Combine(_dir, "other.pem"), other.PublicKey.Pem);
        var wrongKey = await CliRun.RunAsync(output, [.. store, "verify", "--checkpoint", file, "--public-key", Path.Combine(_dir, "other.pem")]);
        Assert.Equal(3, wrongKey.Code);
        Assert.Contains("not by the key given", wrongKey.Out);

        // Bad input: a clear error, exit 1.
        await File.WriteAllTextAsync(Path.Combine(_dir, "garbage.json"), "{ not a checkpoint");
        foreach (var (args, message) in new (string[], string)[]
        {
            ([.. store, "verify", "--public-key", Path.Combine(_dir, "missing.pem")], "no public key at"),
            ([.. store, "verify", "--public-key", Path.Combine(_dir, "garbage.json")], "not an Ed25519 public key"),
            ([.. store, "verify", "--checkpoint", Path.Combine(_dir, "garbage.json")], "is not a readable checkpoint"),
            ([.. store, "verify", "--checkpoint", Path.Combine(_dir, "missing.json")], "no checkpoint file at"),
            ([.. store, "verify", "--change", "987654321"], "no change with id 987654321"),
            ([.. store, "checkpoint", "--signing-key", Path.Combine(_dir, "missing.key")], "no signing key at"),
            ([.. store, "checkpoint", "--signing-key", publicKey], "not an Ed25519 private key"),
        })
        {
            var bad = await CliRun.RunAsync(output, args);
            Assert.True(bad.Code == 1, $"{string.Join(' ', args)}: exit {bad.Code}\n{bad.Out}{bad.Err}");
            Assert.Contains(message, bad.Err);
        }

        // The attacker alters a change, rebuilds the whole chain to agree with it, and removes the checkpoints the store
        // kept: the store now agrees with itself, and only the files kept away from it disagree.
        await h.ExecuteAsync("UPDATE hindsight.changes SET context = '{\"user\": \"mallory\"}' WHERE id = $1", changeId);
        var source = await h.ScalarAsync<string>("SELECT source FROM hindsight.changes WHERE id = $1", changeId);
        await ChainRewriter.RechainAsync(h.Source, source);
        await h.ExecuteAsync("DELETE FROM hindsight.checkpoints");
        var selfConsistent = await CliRun.RunAsync(output, [.. store, "verify"]);
        Assert.Equal(0, selfConsistent.Code);
        var caught = await CliRun.RunAsync(output, [.. store, "verify", "--checkpoint", checkpoints, "--public-key", publicKey, "--format", "json"]);
        Assert.Equal(3, caught.Code);
        var report = JsonDocument.Parse(caught.Out).RootElement;
        Assert.False(report.GetProperty("intact").GetBoolean());
        Assert.Equal("checkpoint_mismatch", report.GetProperty("breaks")[0].GetProperty("kind").GetString());
    }
}
