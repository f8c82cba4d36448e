using Hindsight.Chain;
using Hindsight.Configuration;
using Hindsight.Query;
using Hindsight.Revert;
using Hindsight.Status;
using Npgsql;

namespace Hindsight.Server;

/// <summary>
/// What the endpoints call: the query library over the store and source databases of the options. Kept as one private
/// object (not as services of their own) so that an app hosting the API keeps its own registrations of these types.
/// </summary>
internal sealed class HindsightBackend : IAsyncDisposable
{
    private readonly NpgsqlDataSource _store;
    private readonly NpgsqlDataSource? _source;
    private readonly NpgsqlDataSource _sourceDatabase;
    private readonly string? _sourceName;
    private string? _defaultSource;

    public HindsightBackend(HindsightApiOptions options)
    {
        var sourceCs = ConnectionStrings.ToNpgsql(options.SourceConnectionString);
        var storeCs = ConnectionStrings.ToNpgsqlOptional(options.StoreConnectionString);
        Database = ConnectionStrings.Parse(options.SourceConnectionString).Database;
        var source = NpgsqlDataSource.Create(sourceCs);
        _sourceDatabase = source;
        _sourceName = options.SourceName;
        _store = storeCs is null ? source : NpgsqlDataSource.Create(storeCs);
        _source = storeCs is null ? null : source;
        Trail = new AuditTrail(_store);
        Trends = new ChangeTrends(_store);
        Retention = new Hindsight.Retention.Pruner(_store);
        Reverter = new Reverter(_store, source, options.SourceName);
        Verifier = new TrailVerifier(_store);
        Status = new StatusReader(new StatusOptions
        {
            SourceName = options.SourceName,
            SourceConnectionString = options.SourceConnectionString,
            StoreConnectionString = options.StoreConnectionString,
            Slot = options.Slot,
            Publication = options.Publication,
        });
    }

    /// <summary>
    /// The source database's name: queries are narrowed to it unless they name another (as the CLI's are). Null when the
    /// connection string names none: then every database in the store.
    /// </summary>
    public string? Database { get; }

    /// <summary>
    /// The source and database a query is narrowed to, from its <c>source</c> and <c>database</c> parameters: a name, or
    /// <c>*</c> for any. Neither given: the server's own source (its name in the store), or, while the store does not know
    /// it yet, its database's name.
    /// </summary>
    public async Task<(string? Source, string? Database)> ScopeAsync(string? source, string? database, CancellationToken ct)
    {
        static string? Given(string? value) => string.IsNullOrEmpty(value) || value == "*" ? null : value;
        if (!string.IsNullOrEmpty(source)) return (Given(source), Given(database));
        if (!string.IsNullOrEmpty(database)) return (null, Given(database));
        return await DefaultSourceAsync(ct).ConfigureAwait(false) is { } name ? (name, null) : (null, Database);
    }

    /// <summary>The server's own source, by its name in the store; null while the store does not know it.</summary>
    private async Task<string?> DefaultSourceAsync(CancellationToken ct)
    {
        if (_defaultSource is not null) return _defaultSource;
        if (_sourceName is not null) return _defaultSource = _sourceName;
        var identity = await Store.SourceIdentity.ReadAsync(_sourceDatabase, null, ct).ConfigureAwait(false);
        try { return _defaultSource = await Store.SourceRegistry.FindNameAsync(_store, identity, null, ct).ConfigureAwait(false); }
        catch (Store.SourceNameException) { return null; }
    }

    public AuditTrail Trail { get; }

    public ChangeTrends Trends { get; }

    /// <summary>Legal holds and retention policies (read-only here: the API lists them).</summary>
    public Hindsight.Retention.Pruner Retention { get; }

    public Reverter Reverter { get; }

    public StatusReader Status { get; }

    /// <summary>One change against the tamper-evident chain, and inclusion proofs (reads the store only).</summary>
    public TrailVerifier Verifier { get; }

    /// <summary>The newest checkpoint of each source (of <paramref name="source"/> only), with the public key the store records for it.</summary>
    public async Task<IReadOnlyList<(SignedCheckpoint Checkpoint, string? PublicKey)>> LatestCheckpointsAsync(string? source, CancellationToken ct) =>
        (await new Checkpoints(_store).LatestPerSourceAsync(source, ct).ConfigureAwait(false)).Select(c => (c.Checkpoint, c.PublicKeyPem)).ToList();

    public async ValueTask DisposeAsync()
    {
        await _store.DisposeAsync().ConfigureAwait(false);
        if (_source is not null) await _source.DisposeAsync().ConfigureAwait(false);
    }
}
