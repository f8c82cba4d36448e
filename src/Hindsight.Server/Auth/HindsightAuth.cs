namespace Hindsight.Server.Auth;

/// <summary>Names of the API's authentication scheme, claims and policies.</summary>
public static class HindsightAuth
{
    /// <summary>The authentication scheme: an API key in <c>Authorization: Bearer</c> or <c>X-Hindsight-Key</c>.</summary>
    public const string Scheme = "HindsightApiKey";
    /// <summary>The header that may carry the key instead of <c>Authorization</c>.</summary>
    public const string KeyHeader = "X-Hindsight-Key";
    /// <summary>The claim holding the key's scope (<c>read</c> or <c>admin</c>).</summary>
    public const string ScopeClaim = "hindsight:scope";
    /// <summary>Policy: any valid key.</summary>
    public const string ReadPolicy = "Hindsight.Read";
    /// <summary>Policy: a key with scope admin.</summary>
    public const string AdminPolicy = "Hindsight.Admin";
}
