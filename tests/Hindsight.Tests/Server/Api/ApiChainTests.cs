using System.Text.Json.Nodes;
using Hindsight.Chain;
using Hindsight.Tests.Infrastructure;
using Xunit;

namespace Hindsight.Tests.Server.Api;

/// <summary>
/// The tamper-evident chain over HTTP: a change's verification (verified with its checkpoint, not yet checkpointed,
/// altered), its inclusion proof checked offline, the latest checkpoint with the store's record of the key, and the
/// errors: an unknown change, no checkpoint yet, a store that keeps no chain.
/// </summary>
[Collection(PostgresCollection.Name)]
[Trait("Category", "PostgreSQL")]
public sealed class ApiChainTests(PostgresFixture fixture) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hindsight-api-chain-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Api_verifies_a_change_proves_it_names_the_latest_checkpoint_and_sees_it_altered()
    {
        await using var s = await ApiServer.StartAsync(fixture);
        await s.SeedAsync();
        var source = await s.Harness.ScalarAsync<string>("SELECT source FROM hindsight.changes LIMIT 1");
        using var key = SigningKey.Create(Path.Combine(_dir, "signing.key"));
        var signed = (await new Checkpoints(s.Harness.Source).MakeAsync(source, key))!;
        var id = await s.Harness.ScalarAsync<long>("SELECT id FROM hindsight.changes WHERE operation = 'UPDATE'");

        // Verified, in the checkpoint just made.
        var (status, v) = await s.GetAsync($"/api/changes/{id}/verification");
        Assert.Equal(200, status);
        Assert.Equal(id, (long)v!["change_id"]!);
        Assert.Equal(source, (string)v["source"]!);
        Assert.Equal("verified", (string)v["state"]!);
        Assert.InRange((long)v["block"]!, 0, signed.Checkpoint.Blocks - 1);
        var c = v["checkpoint"]!;
        Assert.Equal(source, (string)c["source"]!);
        Assert.Equal(signed.Checkpoint.Blocks, (long)c["blocks"]!);
        Assert.Equal(signed.Checkpoint.Changes, (long)c["changes"]!);
        Assert.Equal(Checkpoint.Lsn(signed.Checkpoint.Position), (string)c["position"]!);
        Assert.Equal(Convert.ToHexStringLower(signed.Checkpoint.Root), (string)c["root"]!);
        Assert.Equal(Checkpoint.Time(signed.Checkpoint.MadeAt), (string)c["time"]!);
        Assert.Equal(key.KeyId, (string)c["key_id"]!);

        // The proof is the library's JSON, and holds offline against the public key.
        using (var response = await s.Client(s.ReadKey).GetAsync($"/api/changes/{id}/proof"))
        {
            Assert.Equal(200, (int)response.StatusCode);
            Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
            var text = await response.Content.ReadAsStringAsync();
            Assert.Equal(id, JsonNode.Parse(text)!["change"]!["id"]!.GetValue<long>());
            Assert.Null(InclusionProof.Parse(text).Problem(key.PublicKey));
        }

        // The latest checkpoint, with the store's own record of its key, said to be just that.
        var (_, latest) = await s.GetAsync("/api/checkpoints/latest");
        var only = Assert.Single(latest!["checkpoints"]!.AsArray())!;
        Assert.Equal(c.ToJsonString(), only.ToJsonString()); // the same checkpoint object as the verification's
        Assert.Equal(Convert.ToHexStringLower(signed.Checkpoint.Head), (string)only["head"]!);
        Assert.Equal(Convert.ToBase64String(signed.Signature), (string)only["signature"]!);
        var recorded = Assert.Single(latest["keys"]!.AsArray())!;
        Assert.Equal(key.KeyId, (string)recorded["key_id"]!);
        Assert.Equal(key.PublicKey.Pem, (string)recorded["public_key"]!);
        Assert.Contains("the store's own record", (string)latest["keys_note"]!, StringComparison.Ordinal);
        Assert.Single((await s.GetAsync("/api/checkpoints/latest?source=*")).Body!["checkpoints"]!.AsArray());
        Assert.Empty((await s.GetAsync("/api/checkpoints/latest?source=nowhere")).Body!["checkpoints"]!.AsArray());

        // A change stored after the checkpoint: verified, not yet checkpointed, and no proof yet (409, the library's words).
        await s.Harness.ExecuteAsync("UPDATE orders SET status = 'shipped' WHERE id = 2");
        await s.Harness.CatchUpAsync();
        var later = await s.Harness.ScalarAsync<long>("SELECT max(id) FROM hindsight.changes");
        var (_, fresh) = await s.GetAsync($"/api/changes/{later}/verification");
        Assert.Equal("verified", (string)fresh!["state"]!);
        Assert.Null(fresh["checkpoint"]);
        var (noProof, why) = await s.GetAsync($"/api/changes/{later}/proof");
        Assert.Equal(409, noProof);
        Assert.Contains("no checkpoint covers", (string)why!["detail"]!, StringComparison.Ordinal);

        // Unknown and malformed ids.
        foreach (var path in new[] { "/api/changes/987654321/verification", "/api/changes/987654321/proof" })
        {
            var (notFound, problem) = await s.GetAsync(path);
            Assert.Equal(404, notFound);
            Assert.Contains("no change with id 987654321", (string)problem!["detail"]!, StringComparison.Ordinal);
        }
        Assert.Equal(400, (await s.GetAsync("/api/changes/abc/verification")).Status);

        // Altered in the store: the change no longer matches its block, and cannot be proved.
        await s.Harness.ExecuteAsync($$"""UPDATE hindsight.changes SET context = '{"user":"mallory"}' WHERE id = {{id}}""");
        var (_, altered) = await s.GetAsync($"/api/changes/{id}/verification");
        Assert.Equal("altered", (string)altered!["state"]!);
        Assert.Equal(409, (await s.GetAsync($"/api/changes/{id}/proof")).Status);

        // A store that keeps no chain (one from before it): a 409 that says so, not a 500 or a 503.
        await s.Harness.ExecuteAsync("ALTER TABLE hindsight.chain_blocks RENAME TO chain_blocks_gone");
        var (noChain, said) = await s.GetAsync($"/api/changes/{id}/verification");
        Assert.Equal(409, noChain);
        Assert.Contains("the store keeps no chain", (string)said!["detail"]!, StringComparison.Ordinal);
    }
}
