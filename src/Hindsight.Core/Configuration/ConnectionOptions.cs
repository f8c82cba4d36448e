using System.Diagnostics.CodeAnalysis;

namespace Hindsight.Configuration;

/// <summary>
/// What every command needs to find an installation: the tracked (source) database and the store, the source's name in
/// the store, and the replication slot and publication. <c>setup</c>, <c>run</c>, <c>status</c> and <c>teardown</c>
/// take these settings with their own.
/// </summary>
public abstract class ConnectionOptions
{
    /// <summary>The replication slot's name unless one is given: <c>hindsight</c>.</summary>
    public const string DefaultSlot = "hindsight";

    /// <summary>The publication's name unless one is given: <c>hindsight</c>.</summary>
    public const string DefaultPublication = "hindsight";

    /// <summary>Settings given with an object initializer.</summary>
    protected ConnectionOptions() { }

    /// <summary>The connection settings of <paramref name="connection"/>; the other settings keep their defaults.</summary>
    [SetsRequiredMembers]
    protected ConnectionOptions(ConnectionOptions connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        SourceConnectionString = connection.SourceConnectionString;
        StoreConnectionString = connection.StoreConnectionString;
        SourceName = connection.SourceName;
        Slot = connection.Slot;
        Publication = connection.Publication;
    }

    /// <summary>Connection string of the tracked (source) database, in any form <see cref="ConnectionStrings"/> accepts.</summary>
    public required string SourceConnectionString { get; init; }

    /// <summary>Connection string of the store, in any form <see cref="ConnectionStrings"/> accepts; null means the source database itself (schema <c>hindsight</c>).</summary>
    public string? StoreConnectionString { get; init; }

    /// <summary>
    /// The source's name in the store (letters, digits, <c>_ - . :</c>); null: the name this database already has there,
    /// or else (when setup or the worker registers it) its database name. Two tracked databases that share a store need
    /// two names, even when their database names are the same (two servers' <c>postgres</c>): a name another database
    /// has is refused.
    /// </summary>
    public string? SourceName { get; init; }

    /// <summary>
    /// The logical replication slot (lower-case letters, digits, underscores): the one setup creates, the worker reads,
    /// status reports on and teardown drops.
    /// </summary>
    public string Slot { get; init; } = DefaultSlot;

    /// <summary>The publication naming the tracked tables: the one setup creates or updates, the worker reads, status reports on and teardown drops.</summary>
    public string Publication { get; init; } = DefaultPublication;

    /// <summary>The source's and the store's connection strings in Npgsql's form (the store's null when it is the source).</summary>
    /// <exception cref="ConnectionStringException">A connection string could not be understood.</exception>
    internal (string Source, string? Store) ToNpgsql() =>
        (ConnectionStrings.ToNpgsql(SourceConnectionString), ConnectionStrings.ToNpgsqlOptional(StoreConnectionString));
}
