namespace Hindsight.Server.Auth;

/// <summary>What an API key may do.</summary>
public enum ApiKeyScope
{
    /// <summary>Everything that reads: changes, history, as-of, revert plans (dry runs), trends, health, the live stream, the OpenAPI document.</summary>
    Read,
    /// <summary>Everything <see cref="Read"/> may, and applying reverts.</summary>
    Admin,
}
