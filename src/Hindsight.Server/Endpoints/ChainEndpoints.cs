using System.ComponentModel;
using System.Text;
using Hindsight.Chain;
using Hindsight.Server.Contracts;
using Hindsight.Server.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Hindsight.Server.Endpoints;

/// <summary>
/// The tamper-evident chain: <c>GET /api/changes/{id}/verification</c> (one change's state against its block, and the
/// newest checkpoint covering it), <c>GET /api/changes/{id}/proof</c> (its inclusion proof, as <c>hindsight verify
/// --change</c> prints it) and <c>GET /api/checkpoints/latest</c> (each source's newest checkpoint, with the public keys
/// the store records). A store that keeps no chain, or a proof that cannot be made, is a 409 with the library's message.
/// </summary>
internal static class ChainEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/changes/{id}/verification", async ([Description("The change's id")] string id, HindsightBackend backend, CancellationToken ct) =>
            {
                var changeId = ChangeId(id);
                var verification = await backend.Verifier.VerifyChangeAsync(changeId, ct).ConfigureAwait(false)
                                   ?? throw new ApiNotFoundException($"the store has no change with id {changeId}");
                return TypedResults.Ok(ChangeVerificationDto.From(verification));
            })
            .WithName("verifyChange")
            .WithSummary("One change against the chain: verified, altered, not_chained or derived; its block and the newest checkpoint covering it")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);

        api.MapGet("/changes/{id}/proof", async ([Description("The change's id")] string id, HindsightBackend backend, CancellationToken ct) =>
            {
                var changeId = ChangeId(id);
                InclusionProof proof;
                try
                {
                    proof = await backend.Verifier.ProveAsync(changeId, cancellationToken: ct).ConfigureAwait(false);
                }
                // The library says so when no stored change has the id: the thing asked for is missing.
                catch (ChainException e) when (e.Message.StartsWith("the store has no change with id", StringComparison.Ordinal))
                {
                    throw new ApiNotFoundException(e.Message);
                }
                catch (FormatException e)
                {
                    // Not the request's fault: the checkpoint the store recorded cannot be read.
                    throw new ChainException($"the checkpoint recorded in the store that covers change {changeId} cannot be read: {e.Message}", e);
                }
                return TypedResults.Text(proof.ToJson(), "application/json", Encoding.UTF8);
            })
            .WithName("proveChange")
            .WithSummary("The change's inclusion proof in the newest checkpoint covering it, as hindsight verify --change prints it (check it offline with hindsight verify --proof)")
            .Produces(StatusCodes.Status200OK, contentType: "application/json")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);

        api.MapGet("/checkpoints/latest", async (
                [Description("The source, by its name in the store (default: the server's own source; * for every source)")] string? source,
                HindsightBackend backend, CancellationToken ct) =>
            {
                var (name, _) = await backend.ScopeAsync(source, null, ct).ConfigureAwait(false);
                // No name: every source when asked for (*); else the server's own source, which the store does not know yet.
                var latest = name is not null || source?.Trim() == "*"
                    ? await backend.LatestCheckpointsAsync(name, ct).ConfigureAwait(false)
                    : [];
                var keys = latest.DistinctBy(c => c.Checkpoint.KeyId).OrderBy(c => c.Checkpoint.KeyId, StringComparer.Ordinal)
                    .Select(c => new ChainKeyDto(c.Checkpoint.KeyId, c.PublicKey)).ToList();
                return TypedResults.Ok(new LatestCheckpointsDto(latest.Select(c => CheckpointDto.From(c.Checkpoint)).ToList(), keys, LatestCheckpointsDto.Note));
            })
            .WithName("latestCheckpoints")
            .WithSummary("The newest signed checkpoint of each source, with the public keys the store records (its own record: check against a key kept elsewhere)");
    }

    private static long ChangeId(string id) => QueryInput.Long(id, "id")!.Value;
}
