using System.Security.Claims;
using Hindsight.Query;
using Hindsight.Revert;
using Hindsight.Server.Auth;
using Hindsight.Server.Contracts;
using Hindsight.Server.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hindsight.Server.Endpoints;

/// <summary>
/// <c>POST /api/revert/plan</c> (any key: a dry run, changes nothing) and <c>POST /api/revert</c> (admin keys: applies it
/// in one transaction whose context names the key). Conflicts refuse with 409 unless <c>force</c>.
/// </summary>
internal static class RevertEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        api.MapPost("/revert/plan", async (HttpRequest request, ClaimsPrincipal user, HindsightBackend backend, IOptions<HindsightApiOptions> options,
                CancellationToken ct) =>
            {
                var body = await RevertInput.ReadAsync(request, options.Value.MaxRequestBodyBytes, ct).ConfigureAwait(false);
                var plan = await PlanAsync(backend, body, ct).ConfigureAwait(false);
                var dryRun = await backend.Reverter.ApplyAsync(plan, RevertInput.Context(body, user), dryRun: true, ct: ct).ConfigureAwait(false);
                return TypedResults.Ok(RevertResponse.From(dryRun));
            })
            .Accepts<RevertRequest>("application/json")
            .WithName("planRevert")
            .WithSummary("Plan a revert (dry run): statements, SQL, conflicts and notes; changes nothing")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);

        api.MapPost("/revert", async (HttpRequest request, ClaimsPrincipal user, HindsightBackend backend, IOptions<HindsightApiOptions> options,
                ILoggerFactory logs, CancellationToken ct) =>
            {
                var body = await RevertInput.ReadAsync(request, options.Value.MaxRequestBodyBytes, ct).ConfigureAwait(false);
                var plan = await PlanAsync(backend, body, ct).ConfigureAwait(false);
                var context = RevertInput.Context(body, user);
                // An already reverted change is refused by the library, with what to do instead of forcing.
                if (plan.Conflicts.Count > 0 && !body.Force && !plan.Conflicts.Any(c => c.AlreadyReverted))
                    return Refused($"refused: {plan.ConflictSummary}; nothing was changed (send \"force\": true to overwrite them)", plan);
                RevertResult result;
                try
                {
                    result = await backend.Reverter.ApplyAsync(plan, context, body.Force, ct: ct).ConfigureAwait(false);
                }
                catch (AuditQueryException e)
                {
                    // Apply refuses (rolling back whole) when a row moved on since planning or PostgreSQL refused a statement.
                    return Refused(e.Message, plan);
                }
                logs.CreateLogger("Hindsight.Server.Revert").LogInformation(
                    "revert applied by API key {Key}: {Statements} statement(s)", user.Identity?.Name, result.RowsAffected.Count);
                return TypedResults.Ok(RevertResponse.From(result));
            })
            .RequireAuthorization(HindsightAuth.AdminPolicy)
            .Accepts<RevertRequest>("application/json")
            .Produces<RevertResponse>()
            .WithName("applyRevert")
            .WithSummary("Apply a revert in one transaction (admin key); refuses conflicts with 409 unless force")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
    }

    private static async Task<RevertPlan> PlanAsync(HindsightBackend backend, RevertRequest body, CancellationToken ct)
    {
        var selection = RevertInput.Selection(body);
        try
        {
            return await backend.Reverter.PlanAsync(selection, ct).ConfigureAwait(false);
        }
        // The library says "nothing to revert" when no stored change matches: the thing asked for is missing.
        catch (AuditQueryException e) when (e.Message.StartsWith("nothing to revert", StringComparison.Ordinal))
        {
            throw new ApiNotFoundException(e.Message);
        }
    }

    private static IResult Refused(string detail, RevertPlan plan) =>
        ApiProblems.Problem(StatusCodes.Status409Conflict, "Revert refused", detail, new Dictionary<string, object?>
        {
            ["conflicts"] = plan.Conflicts.Select(RevertConflictDto.From).ToList(),
        });
}
