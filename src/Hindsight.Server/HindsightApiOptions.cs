using Hindsight.Server.Auth;

namespace Hindsight.Server;

/// <summary>Settings of the Hindsight HTTP API (<see cref="HindsightApiExtensions.AddHindsightApi(Microsoft.Extensions.DependencyInjection.IServiceCollection, Action{HindsightApiOptions})"/>).</summary>
public sealed class HindsightApiOptions
{
    /// <summary>The largest page size any endpoint accepts (and the cap on rows one response carries).</summary>
    public const int DefaultMaxPageSize = 1000;

    /// <summary>
    /// Connection string of the tracked (source) database, in any form <see cref="Configuration.ConnectionStrings"/> accepts.
    /// Reverts write to it; health reads its slot; queries are narrowed to its database by default.
    /// </summary>
    public string SourceConnectionString { get; set; } = "";

    /// <summary>Connection string of the store; null means the source database itself (schema <c>hindsight</c>).</summary>
    public string? StoreConnectionString { get; set; }

    /// <summary>The replication slot health reports on.</summary>
    public string Slot { get; set; } = Configuration.ConnectionOptions.DefaultSlot;

    /// <summary>
    /// The source's name in the store (<c>setup --source-name</c>); null: the name the source database has there. Queries
    /// are narrowed to this source unless they name another (<c>source=</c>, <c>source=*</c> for every source).
    /// </summary>
    public string? SourceName { get; set; }

    /// <summary>The publication health reports on.</summary>
    public string Publication { get; set; } = Configuration.ConnectionOptions.DefaultPublication;

    /// <summary>
    /// The keys that may call the API, each a name, a scope and the SHA-256 of the key (never the key itself). With none,
    /// every request is refused with 401.
    /// </summary>
    public List<ApiKeyEntry> Keys { get; } = [];

    /// <summary>
    /// The host app's own authorization policy (registered with <c>AddAuthorization</c>) that may read the API, instead
    /// of API keys: the API's endpoints then require it, with whatever authentication the host set up (cookies, JWT,
    /// OpenID Connect). Set with <see cref="AdminPolicy"/>. Null (the default): API keys.
    /// </summary>
    public string? ReadPolicy { get; set; }

    /// <summary>
    /// The host app's own policy that may also apply reverts (with <see cref="ReadPolicy"/>). A revert's context then
    /// names the user (<c>userId</c> from the NameIdentifier or <c>sub</c> claim, <c>userName</c>) instead of an API key.
    /// </summary>
    public string? AdminPolicy { get; set; }

    /// <summary>Whether the host's policies stand in for API keys.</summary>
    internal bool UsesHostPolicies => ReadPolicy is not null;

    /// <summary>Largest page size (<c>limit</c>) accepted; also the most rows of history, as-of or trends one response carries.</summary>
    public int MaxPageSize { get; set; } = DefaultMaxPageSize;

    /// <summary>How often a live stream (<c>/api/changes/stream</c>) polls the store for new changes.</summary>
    public TimeSpan StreamPollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How often a live stream sends a comment line when there is nothing new, so proxies keep the connection.</summary>
    public TimeSpan StreamHeartbeatInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Live streams open at once; one more is refused with 503 (each polls the store).</summary>
    public int MaxStreams { get; set; } = 32;

    /// <summary>Largest request body accepted (revert requests), in bytes.</summary>
    public int MaxRequestBodyBytes { get; set; } = 1 << 20;

    /// <summary>
    /// Security headers on every answer of the app (what <c>hindsight serve</c> does, for its dashboard), rather than only on
    /// the API's paths (the default, for an app that hosts the API beside pages of its own).
    /// </summary>
    public bool SecurityHeadersOnEveryPath { get; set; }

    /// <summary>Throws unless the options can serve.</summary>
    /// <exception cref="ArgumentException">A setting is missing or out of range.</exception>
    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(SourceConnectionString))
            throw new ArgumentException("the Hindsight API needs the source database's connection string", nameof(SourceConnectionString));
        try
        {
            Configuration.ConnectionStrings.Parse(SourceConnectionString);
            if (StoreConnectionString is not null) Configuration.ConnectionStrings.Parse(StoreConnectionString);
        }
        catch (Configuration.ConnectionStringException e)
        {
            throw new ArgumentException("the Hindsight API's connection string cannot be read: " + e.Message, nameof(SourceConnectionString));
        }
        if (MaxPageSize is < 1 or > Query.PageRequest.MaxLimit)
            throw new ArgumentException($"MaxPageSize must be between 1 and {Query.PageRequest.MaxLimit}", nameof(MaxPageSize));
        if (StreamPollInterval <= TimeSpan.Zero || StreamHeartbeatInterval <= TimeSpan.Zero)
            throw new ArgumentException("stream intervals must be positive", nameof(StreamPollInterval));
        if (MaxStreams < 0 || MaxRequestBodyBytes < 1)
            throw new ArgumentException("MaxStreams and MaxRequestBodyBytes must not be negative", nameof(MaxStreams));
        if (string.IsNullOrWhiteSpace(ReadPolicy) != string.IsNullOrWhiteSpace(AdminPolicy))
            throw new ArgumentException("set both ReadPolicy and AdminPolicy (the host's policies for reading and for reverts), or neither (API keys)",
                ReadPolicy is null ? nameof(ReadPolicy) : nameof(AdminPolicy));
        var duplicate = Keys.GroupBy(k => k.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
            throw new ArgumentException($"two API keys are named '{duplicate.Key}': names identify keys in reverts' context, so they must be unique", nameof(Keys));
    }
}
