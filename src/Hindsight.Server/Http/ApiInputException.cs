namespace Hindsight.Server.Http;

/// <summary>Bad input found by the API itself (a query parameter or body that cannot be read): answered with 400.</summary>
internal sealed class ApiInputException(string message) : Exception(message);
