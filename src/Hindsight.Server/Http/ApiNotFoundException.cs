namespace Hindsight.Server.Http;

/// <summary>The thing asked for does not exist: answered with 404.</summary>
internal sealed class ApiNotFoundException(string message) : Exception(message);
