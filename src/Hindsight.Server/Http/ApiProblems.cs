using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Hindsight.Server.Http;

/// <summary>Errors as RFC 7807 problem details (<c>application/problem+json</c>).</summary>
internal static class ApiProblems
{
    public static ProblemHttpResult Problem(int status, string title, string detail, IDictionary<string, object?>? extensions = null) =>
        TypedResults.Problem(detail: detail, statusCode: status, title: title, extensions: extensions);

    public static ProblemHttpResult BadRequest(string detail) => Problem(StatusCodes.Status400BadRequest, "Bad request", detail);

    public static ProblemHttpResult NotFound(string detail) => Problem(StatusCodes.Status404NotFound, "Not found", detail);

    /// <summary>Writes a problem outside an endpoint (authentication's 401 and 403).</summary>
    public static Task Write(HttpContext context, int status, string title, string detail) =>
        Problem(status, title, detail).ExecuteAsync(context);
}
