namespace Hindsight.Server.Http;

/// <summary>The caller is authenticated but may not do this: answered with 403.</summary>
internal sealed class ApiForbiddenException(string message) : Exception(message);
