using Hindsight.Chain;
using Hindsight.Query;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Hindsight.Server.Http;

/// <summary>
/// Turns the exceptions of the query library into problem details: its clear messages about bad input become 400,
/// the chain's (no chain kept, no checkpoint yet) 409, a database that cannot be reached 503. Nothing else of an exception (no stack, no connection string) reaches the client.
/// </summary>
internal sealed class ApiErrorFilter(ILogger<ApiErrorFilter> log) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        try
        {
            return await next(context).ConfigureAwait(false);
        }
        catch (Exception) when (context.HttpContext.RequestAborted.IsCancellationRequested || context.HttpContext.Response.HasStarted)
        {
            throw; // the client is gone, or an answer (a live stream) is already under way: too late for a problem
        }
        catch (ApiNotFoundException e)
        {
            return ApiProblems.NotFound(e.Message);
        }
        catch (ApiForbiddenException e)
        {
            return ApiProblems.Problem(StatusCodes.Status403Forbidden, "Forbidden", e.Message);
        }
        catch (ChainException e)
        {
            // The store keeps no chain, or no checkpoint covers the change yet: nothing wrong with the request, nothing to give.
            return ApiProblems.Problem(StatusCodes.Status409Conflict, "Not available", e.Message);
        }
        catch (Exception e) when (e is ApiInputException or AuditQueryException or ArgumentException or FormatException)
        {
            return ApiProblems.BadRequest(Message(e));
        }
        catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.UndefinedTable or PostgresErrorCodes.InvalidSchemaName)
        {
            log.LogWarning(e, "store query failed");
            return ApiProblems.Problem(StatusCodes.Status503ServiceUnavailable, "Store not set up",
                "the change store is not set up (no hindsight schema): run hindsight setup");
        }
        catch (NpgsqlException e) when (e is not PostgresException)
        {
            log.LogWarning(e, "database unreachable");
            return ApiProblems.Problem(StatusCodes.Status503ServiceUnavailable, "Database unavailable", "the database cannot be reached");
        }
    }

    /// <summary>The library's message without .NET's " (Parameter 'x')" suffix.</summary>
    internal static string Message(Exception e)
    {
        var message = e.Message;
        if (e is ArgumentException { ParamName: { } name })
        {
            var suffix = $" (Parameter '{name}')";
            if (message.EndsWith(suffix, StringComparison.Ordinal)) message = message[..^suffix.Length];
        }
        return message;
    }
}
