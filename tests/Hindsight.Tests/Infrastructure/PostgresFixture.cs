using Hindsight.Embedded;
using Npgsql;
using Xunit;

namespace Hindsight.Tests.Infrastructure;

/// <summary>
/// One private PostgreSQL server (wal_level=logical) for the whole test run, started from the
/// machine's binaries in a temporary directory and removed at the end. Each test class makes
/// its own database with <see cref="CreateDatabaseAsync"/>, so tests don't see each other's
/// tables, slots or publications.
/// </summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    private static int _counter;
    private PrivatePostgresServer? _server;

    /// <summary>The running server.</summary>
    public PrivatePostgresServer Server => _server ?? throw new InvalidOperationException("server not started");

    /// <inheritdoc />
    public async Task InitializeAsync() =>
        _server = await PrivatePostgresServer.StartAsync(new Dictionary<string, string>
        {
            // Small enough that the large-transaction tests exercise streaming of in-progress transactions.
            ["logical_decoding_work_mem"] = "1MB",
            // Every capture test owns a slot (slots are cluster-wide); harnesses drop theirs, but a failed
            // test may not, and one run must not fail later tests for want of slots.
            ["max_replication_slots"] = "200",
            ["max_wal_senders"] = "60",
        });

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        if (_server is not null) await _server.DisposeAsync();
    }

    /// <summary>Creates a fresh, empty database and returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(string prefix = "t")
    {
        var name = $"{prefix}_{Environment.ProcessId}_{Interlocked.Increment(ref _counter)}".ToLowerInvariant();
        return await NamedDatabases.CreateAsync(Server, name);
    }
}

/// <summary>Every test class that needs PostgreSQL joins this collection and shares one server.</summary>
[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresFixture>
{
    /// <summary>The collection's name.</summary>
    public const string Name = "postgres";
}
