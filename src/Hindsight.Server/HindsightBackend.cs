using Hindsight.Configuration;
using Hindsight.Query;
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

    public HindsightBackend(HindsightApiOptions options)
    {
        var sourceCs = ConnectionStrings.ToNpgsql(options.SourceConnectionString);
        var storeCs = ConnectionStrings.ToNpgsqlOptional(options.StoreConnectionString);
        Database = ConnectionStrings.Parse(options.SourceConnectionString).Database;
        var source = NpgsqlDataSource.Create(sourceCs);
        _store = storeCs is null ? source : NpgsqlDataSource.Create(storeCs);
        _source = storeCs is null ? null : source;
        Trail = new AuditTrail(_store);
        Trends = new ChangeTrends(_store);
        Reverter = new Reverter(_store, source);
        Status = new StatusReader(new StatusOptions
        {
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

    public AuditTrail Trail { get; }

    public ChangeTrends Trends { get; }

    public Reverter Reverter { get; }

    public StatusReader Status { get; }

    public async ValueTask DisposeAsync()
    {
        await _store.DisposeAsync();
        if (_source is not null) await _source.DisposeAsync();
    }
}
