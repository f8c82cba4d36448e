using Hindsight.Capture;
using Hindsight.Setup;
using Hindsight.Worker;
using Npgsql;

namespace Hindsight.Tests.Infrastructure;

/// <summary>
/// A fresh database set up by <see cref="SetupRunner"/> (store, publication of schema <c>public</c>, slot), and a capture
/// worker running in-process. Tests write through <see cref="Source"/> and read the store.
/// </summary>
public sealed class CaptureHarness : IAsyncDisposable
{
    private CancellationTokenSource? _workerStop;
    private Task? _worker;

    private CaptureHarness(string connectionString)
    {
        ConnectionString = connectionString;
        Source = NpgsqlDataSource.Create(connectionString);
        // Slots are cluster-wide: name it after the (unique) test database.
        Slot = new NpgsqlConnectionStringBuilder(connectionString).Database!;
    }

    /// <summary>Connection string of the test database (source and store).</summary>
    public string ConnectionString { get; }

    /// <summary>The test database.</summary>
    public NpgsqlDataSource Source { get; }

    /// <summary>Slot and publication name.</summary>
    public string Slot { get; }

    /// <summary>Creates the database, runs <paramref name="schemaSql"/>, then sets up capture of schema public.</summary>
    public static async Task<CaptureHarness> CreateAsync(PostgresFixture fixture, string schemaSql, bool replicaIdentityFull = true)
    {
        var h = await CreateWithoutSetupAsync(fixture, schemaSql);
        await h.SetupAsync(o => new SetupOptions
        {
            SourceConnectionString = o.SourceConnectionString, Slot = o.Slot, Publication = o.Publication, Schemas = o.Schemas,
            ReplicaIdentity = replicaIdentityFull ? ReplicaIdentityMode.Full : ReplicaIdentityMode.Default,
        });
        return h;
    }

    /// <summary>Creates the database and runs <paramref name="schemaSql"/>; capture is not set up yet (<see cref="SetupAsync"/>).</summary>
    public static async Task<CaptureHarness> CreateWithoutSetupAsync(PostgresFixture fixture, string schemaSql)
    {
        var h = new CaptureHarness(await fixture.CreateDatabaseAsync());
        await h.ExecuteAsync(schemaSql);
        return h;
    }

    /// <summary>
    /// Runs the real `hindsight setup`, tracking schema public (the test oracle lives in other schemas), with the
    /// options <paramref name="configure"/> makes of the defaults.
    /// </summary>
    public async Task<SetupReport> SetupAsync(Func<SetupOptions, SetupOptions>? configure = null)
    {
        var o = new SetupOptions { SourceConnectionString = ConnectionString, Slot = Slot, Publication = Slot, Schemas = ["public"] };
        return await new SetupRunner(configure?.Invoke(o) ?? o).RunAsync();
    }

    /// <summary>Options for a worker on this database.</summary>
    public CaptureOptions Options(Func<CaptureOptions, CaptureOptions>? configure = null)
    {
        var o = new CaptureOptions { SourceConnectionString = ConnectionString, Slot = Slot, Publication = Slot };
        return configure?.Invoke(o) ?? o;
    }

    /// <summary>Starts an in-process worker.</summary>
    public void StartWorker(CaptureOptions? options = null)
    {
        _workerStop = new CancellationTokenSource();
        var worker = new CaptureWorker(options ?? Options());
        _worker = Task.Run(() => worker.RunAsync(_workerStop.Token));
    }

    /// <summary>Stops the in-process worker gracefully and surfaces any error it had.</summary>
    public async Task StopWorkerAsync()
    {
        if (_worker is null) return;
        await _workerStop!.CancelAsync();
        await _worker;
        _worker = null;
    }

    /// <summary>Waits until everything committed so far is stored; fails fast if the worker died.</summary>
    public async Task CatchUpAsync(TimeSpan? timeout = null)
    {
        if (_worker is { IsFaulted: true }) await _worker;
        var wait = CatchUp.WaitAsync(Source, Source, Slot, timeout ?? TimeSpan.FromSeconds(60));
        if (_worker is not null && await Task.WhenAny(wait, _worker) == _worker) await _worker; // worker failed first
        await wait;
    }

    /// <summary>Waits until everything committed so far is stored by <paramref name="worker"/>; fails fast if it exits.</summary>
    public async Task CatchUpAsync(WorkerProcess worker, TimeSpan timeout)
    {
        var wait = CatchUp.WaitAsync(Source, Source, Slot, timeout);
        while (!wait.IsCompleted)
        {
            if (worker.HasExited) throw new InvalidOperationException("worker exited:\n" + worker.Output);
            await Task.WhenAny(wait, Task.Delay(200));
        }
        await wait;
    }

    /// <summary>Runs SQL on the source.</summary>
    public async Task ExecuteAsync(string sql, params object[] parameters)
    {
        await using var cmd = Source.CreateCommand(sql);
        foreach (var p in parameters) cmd.Parameters.AddWithValue(p);
        await cmd.ExecuteNonQueryAsync();
    }

    /// <summary>Runs a scalar query on the source.</summary>
    public async Task<T> ScalarAsync<T>(string sql, params object[] parameters)
    {
        await using var cmd = Source.CreateCommand(sql);
        foreach (var p in parameters) cmd.Parameters.AddWithValue(p);
        var result = await cmd.ExecuteScalarAsync();
        return (T)Convert.ChangeType(result!, typeof(T));
    }

    /// <summary>Reads rows of a query as string arrays, NULL as "" (for assertions with readable failures).</summary>
    public async Task<List<string[]>> RowsAsync(string sql, params object[] parameters)
    {
        await using var cmd = Source.CreateCommand(sql);
        foreach (var p in parameters) cmd.Parameters.AddWithValue(p);
        await using var r = await cmd.ExecuteReaderAsync();
        var rows = new List<string[]>();
        while (await r.ReadAsync())
        {
            var row = new string[r.FieldCount];
            for (var i = 0; i < row.Length; i++) row[i] = r.IsDBNull(i) ? "" : r.GetValue(i).ToString() ?? "";
            rows.Add(row);
        }
        return rows;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        try { await StopWorkerAsync(); } catch (Exception) { /* the test already reported it */ }
        // Slots are cluster-wide and the shared server allows 20: give this one back (best effort;
        // a slot still held by a worker process is left to the end of the run).
        try { await ExecuteAsync("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1 AND NOT active", Slot); }
        catch (PostgresException) { /* raced with a worker releasing it */ }
        await Source.DisposeAsync();
    }
}
