using System.Diagnostics;
using System.Runtime.InteropServices;
using Hindsight.Embedded;
using Hindsight.Store;
using Npgsql;

namespace Hindsight.Bench;

/// <summary>The private PostgreSQL server the benchmarks run on, and what they do with it.</summary>
internal sealed class BenchServer : IAsyncDisposable
{
    private readonly NpgsqlDataSource _admin;

    private BenchServer(PrivatePostgresServer server)
    {
        Server = server;
        _admin = NpgsqlDataSource.Create(server.ConnectionString() + ";Application Name=hindsight-bench;Command Timeout=0");
        Postmaster = ServerCpu.PostmasterPid(server.Directory);
    }

    public PrivatePostgresServer Server { get; }
    public int Postmaster { get; }
    public string Version { get; private set; } = "";
    public string WorkMem { get; private set; } = "";

    /// <summary>Starts a private server; <paramref name="durable"/>: with PostgreSQL's default durability (the private
    /// servers otherwise run with fsync, full_page_writes and synchronous_commit off, as the tests do).</summary>
    public static async Task<BenchServer> StartAsync(string? logicalDecodingWorkMem, bool durable)
    {
        var settings = new Dictionary<string, string>();
        if (logicalDecodingWorkMem is not null) settings["logical_decoding_work_mem"] = $"'{logicalDecodingWorkMem}'";
        if (durable)
        {
            settings["fsync"] = "on";
            settings["full_page_writes"] = "on";
            settings["synchronous_commit"] = "on";
        }
        var s = new BenchServer(await PrivatePostgresServer.StartAsync(settings));
        s.Version = await s.ScalarAsync<string>(s._admin, "SHOW server_version");
        s.WorkMem = await s.ScalarAsync<string>(s._admin, "SHOW logical_decoding_work_mem");
        s.Durability = $"fsync={await s.ScalarAsync<string>(s._admin, "SHOW fsync")}, " +
                       $"full_page_writes={await s.ScalarAsync<string>(s._admin, "SHOW full_page_writes")}, " +
                       $"synchronous_commit={await s.ScalarAsync<string>(s._admin, "SHOW synchronous_commit")}";
        return s;
    }

    /// <summary>The server's durability settings, as it reports them.</summary>
    public string Durability { get; private set; } = "";

    public string ConnectionString(string db, string app = "hindsight-bench") =>
        Server.ConnectionString(db) + $";Application Name={app};Command Timeout=0";

    public NpgsqlDataSource DataSource(string db) => NpgsqlDataSource.Create(ConnectionString(db));

    public async Task<T> ScalarAsync<T>(NpgsqlDataSource ds, string sql, params object[] args)
    {
        await using var cmd = ds.CreateCommand(sql);
        foreach (var a in args) cmd.Parameters.AddWithValue(a);
        return (T)(await cmd.ExecuteScalarAsync())!;
    }

    public static async Task ExecAsync(NpgsqlDataSource ds, string sql)
    {
        await using var cmd = ds.CreateCommand(sql);
        await cmd.ExecuteNonQueryAsync();
    }

    public static async Task ExecAsync(NpgsqlConnection conn, string sql)
    {
        await using var cmd = new NpgsqlCommand(sql, conn);
        await cmd.ExecuteNonQueryAsync();
    }

    public async Task CreateDatabaseAsync(string db)
    {
        await DropDatabaseAsync(db);
        await ExecAsync(_admin, $"CREATE DATABASE {db}");
    }

    /// <summary>A new database <paramref name="db"/> as a copy of <paramref name="template"/> (file copy: no WAL for the data).</summary>
    public async Task CopyDatabaseAsync(string template, string db)
    {
        await DropDatabaseAsync(db);
        await ExecAsync(_admin, $"CREATE DATABASE {db} TEMPLATE {template} STRATEGY FILE_COPY");
    }

    /// <summary>Drops the database's slots (waiting for their walsenders to go), then the database.</summary>
    public async Task DropDatabaseAsync(string db)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            try
            {
                await ExecAsync(_admin,
                    $"SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = '{db}' AND NOT active");
                var left = await ScalarAsync<long>(_admin, $"SELECT count(*) FROM pg_replication_slots WHERE database = '{db}'");
                if (left == 0) break;
            }
            catch (PostgresException) when (DateTime.UtcNow < deadline) { /* became active in between */ }
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"slots of {db} stay active");
            await Task.Delay(100);
        }
        await ExecAsync(_admin, $"DROP DATABASE IF EXISTS {db} WITH (FORCE)");
    }

    /// <summary>Store schema, publication of schema public (via root), REPLICA IDENTITY FULL on every table of public.</summary>
    public static async Task SetupCaptureAsync(NpgsqlDataSource ds, string publication)
    {
        await StoreMigrations.ApplyAsync(ds);
        await ExecAsync(ds, $"CREATE PUBLICATION {publication} FOR TABLES IN SCHEMA public WITH (publish_via_partition_root = true)");
        await ExecAsync(ds,
            """
            DO $$ DECLARE r record; BEGIN
              FOR r IN SELECT c.oid::regclass AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                       WHERE n.nspname = 'public' AND c.relkind IN ('r','p') LOOP
                EXECUTE format('ALTER TABLE %s REPLICA IDENTITY FULL', r.t);
              END LOOP; END $$;
            """);
    }

    /// <summary>Creates pgoutput slots, each in its own transaction, one right after the other.</summary>
    public static async Task CreateSlotsAsync(NpgsqlDataSource ds, params string[] slots)
    {
        foreach (var s in slots) await ExecAsync(ds, $"SELECT pg_create_logical_replication_slot('{s}', 'pgoutput')");
    }

    /// <summary>Runs pg_recvlogical on <paramref name="slot"/> until <paramref name="endpos"/>; returns seconds.</summary>
    public async Task<double> RecvLogicalAsync(string db, string slot, string publication, ulong endpos)
    {
        var psi = Server.StartInfoFor("pg_recvlogical",
        [
            "-d", Server.Url(db), "--slot", slot, "--start", "--no-loop",
            "--endpos", new NpgsqlTypes.NpgsqlLogSequenceNumber(endpos).ToString(),
            "-o", "proto_version=2", "-o", $"publication_names={publication}", "-o", "messages=true",
            // Experiment aid: HINDSIGHT_BENCH_RECV_STREAMING=off runs pg_recvlogical without streaming (the server spills instead).
            "-o", $"streaming={Environment.GetEnvironmentVariable("HINDSIGHT_BENCH_RECV_STREAMING") ?? "on"}",
            "-f", "/dev/null",
        ]);
        var sw = Stopwatch.StartNew();
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("could not start pg_recvlogical");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        var seconds = sw.Elapsed.TotalSeconds;
        if (p.ExitCode != 0)
            throw new InvalidOperationException($"pg_recvlogical exited with {p.ExitCode}: {await stdout}{await stderr}");
        return seconds;
    }

    /// <summary>Waits until no walsender holds a slot of <paramref name="db"/> (so its CPU is accounted as reaped).</summary>
    public async Task WaitSlotsIdleAsync(string db)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (DateTime.UtcNow < deadline)
        {
            var active = await ScalarAsync<long>(_admin, $"SELECT count(*) FROM pg_replication_slots WHERE database = '{db}' AND active");
            if (active == 0) { await Task.Delay(50); return; }
            await Task.Delay(20);
        }
    }

    /// <summary>Waits until a consumer streams from <paramref name="slot"/>; <paramref name="failure"/> says why it cannot (it exited), else null.</summary>
    public static async Task WaitSlotActiveAsync(NpgsqlDataSource ds, string slot, Func<string?> failure)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            await using var cmd = ds.CreateCommand("SELECT active FROM pg_replication_slots WHERE slot_name = $1");
            cmd.Parameters.AddWithValue(slot);
            if (await cmd.ExecuteScalarAsync() is true) return;
            if (failure() is { } why) throw new InvalidOperationException(why);
            await Task.Delay(20);
        }
        throw new TimeoutException($"no consumer started streaming from slot {slot}");
    }

    /// <summary>Row changes (inserts + updates + deletes) of <paramref name="table"/> as PostgreSQL counts them (pg_stat_user_tables).</summary>
    public static async Task<long> RowChangesAsync(NpgsqlDataSource ds, string table)
    {
        await using var conn = await ds.OpenConnectionAsync();
        await ExecAsync(conn, "SELECT pg_stat_clear_snapshot()");
        await using var cmd = new NpgsqlCommand(
            "SELECT coalesce(n_tup_ins + n_tup_upd + n_tup_del, 0) FROM pg_stat_user_tables WHERE relid = $1::regclass", conn);
        cmd.Parameters.AddWithValue(table);
        return (long)(await cmd.ExecuteScalarAsync())!;
    }

    public string MachineInfo() =>
        $"machine: {Environment.ProcessorCount} cores ({Proc.CpuModel()}), {Proc.MemTotal()} RAM, {RuntimeInformation.OSDescription}\n" +
        $"software: PostgreSQL {Version} (private server: {Durability}, shared_buffers=256MB, " +
        $"logical_decoding_work_mem={WorkMem}), .NET {Environment.Version}, Npgsql {typeof(NpgsqlConnection).Assembly.GetName().Version}";

    public async ValueTask DisposeAsync()
    {
        await _admin.DisposeAsync();
        await Server.DisposeAsync();
    }
}
