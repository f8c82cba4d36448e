using Microsoft.AspNetCore.Http;

namespace Hindsight.AspNetCore;

/// <summary>What the per-request context contains.</summary>
public sealed class HindsightRequestOptions
{
    /// <summary>Include <see cref="HindsightKeys.UserId"/> and <see cref="HindsightKeys.UserName"/>. Default true.</summary>
    public bool IncludeUser { get; set; } = true;

    /// <summary>Include <see cref="HindsightKeys.Path"/> (paths can carry identifiers some teams keep out of audit data). Default true.</summary>
    public bool IncludePath { get; set; } = true;

    /// <summary>
    /// Called once per request after the standard keys are set: add or overwrite entries (tenant, feature
    /// flags, API client). Values must serialise to JSON; set a key to null to store JSON null.
    /// </summary>
    public Action<HttpContext, IDictionary<string, object?>>? Enrich { get; set; }
}
