using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Hindsight.Embedded;

/// <summary>
/// A throw-away PostgreSQL server started from the machine's own binaries in a temporary
/// directory, listening on a free loopback port, with <c>wal_level=logical</c>.
/// Used by the demo (samples/Hindsight.Demo), the test suite and the benchmarks.
/// </summary>
/// <remarks>
/// PostgreSQL refuses to run as root, so when the current process is root the data
/// directory is handed to an unprivileged account (<c>postgres</c>, else <c>nobody</c>) and
/// every server binary is started through <c>runuser</c>.
/// </remarks>
public sealed class PrivatePostgresServer : IAsyncDisposable, IDisposable
{
    private readonly string _binDirectory;
    private readonly string? _runAsUser;
    private int _stopped;

    private readonly IReadOnlyDictionary<string, string> _environment;

    private PrivatePostgresServer(string binDirectory, string directory, int port, string? runAsUser, IReadOnlyDictionary<string, string>? environment)
    {
        _binDirectory = binDirectory;
        Directory = directory;
        Port = port;
        _runAsUser = runAsUser;
        _environment = environment ?? new Dictionary<string, string>();
    }

    /// <summary>The temporary directory holding the data directory, socket and log.</summary>
    public string Directory { get; }

    /// <summary>The loopback TCP port the server listens on.</summary>
    public int Port { get; }

    /// <summary>The server binaries' directory (initdb, pg_ctl, pg_recvlogical, pgbench …).</summary>
    public string BinDirectory => _binDirectory;

    /// <summary>The superuser the cluster was initialised with.</summary>
    public const string Superuser = "postgres";

    /// <summary>The server's log file.</summary>
    public string LogFile => Path.Combine(Directory, "server.log");

    /// <summary>A connection string (key=value form) for <paramref name="database"/> as the superuser.</summary>
    public string ConnectionString(string database = "postgres") =>
        $"Host=127.0.0.1;Port={Port};Username={Superuser};Database={database};Pooling=true;Include Error Detail=true";

    /// <summary>A libpq URL for <paramref name="database"/> (for psql, pg_recvlogical, pgbench).</summary>
    public string Url(string database = "postgres") => $"postgresql://{Superuser}@127.0.0.1:{Port}/{database}";

    /// <summary>Initialises and starts a new server. Extra settings are appended to postgresql.conf.</summary>
    public static Task<PrivatePostgresServer> StartAsync(
        IReadOnlyDictionary<string, string>? settings = null, CancellationToken cancellationToken = default) =>
        StartAsync(settings, environment: null, cancellationToken);

    /// <summary>
    /// Initialises and starts a new server whose processes (and every binary run through <see cref="StartInfoFor"/>) also
    /// get <paramref name="environment"/>: a test that needs the server's clock elsewhere preloads libfaketime this way.
    /// </summary>
    public static async Task<PrivatePostgresServer> StartAsync(
        IReadOnlyDictionary<string, string>? settings, IReadOnlyDictionary<string, string>? environment, CancellationToken cancellationToken = default)
    {
        var bin = FindBinDirectory();
        var runAs = Environment.UserName == "root" || IsRoot() ? PickUnprivilegedUser() : null;
        var dir = System.IO.Directory.CreateTempSubdirectory("hindsight-pg-").FullName;
        var port = FreePort();
        var server = new PrivatePostgresServer(bin, dir, port, runAs, environment);
        try
        {
            await server.InitAndStartAsync(settings, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await server.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        return server;
    }

    private static bool IsRoot()
    {
        try { return File.ReadAllText("/proc/self/status").Contains("\nUid:\t0\t"); }
        catch (IOException) { return false; }
    }

    private async Task InitAndStartAsync(IReadOnlyDictionary<string, string>? settings, CancellationToken ct)
    {
        var data = Path.Combine(Directory, "data");
        if (_runAsUser is not null)
            await RunAsync("/bin/chown", ["-R", _runAsUser, Directory], asServerUser: false, ct).ConfigureAwait(false);

        await RunAsync(Path.Combine(_binDirectory, "initdb"),
            ["-D", data, "-U", Superuser, "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"], asServerUser: true, ct).ConfigureAwait(false);

        var conf = new Dictionary<string, string>
        {
            ["listen_addresses"] = "'127.0.0.1'",
            ["port"] = Port.ToString(CultureInfo.InvariantCulture),
            ["unix_socket_directories"] = $"'{Directory}'",
            ["wal_level"] = "logical",
            ["max_replication_slots"] = "20",
            ["max_wal_senders"] = "20",
            ["max_connections"] = "200",
            ["fsync"] = "off",
            ["full_page_writes"] = "off",
            ["synchronous_commit"] = "off",
            ["shared_buffers"] = "256MB",
            ["timezone"] = "'UTC'",
            ["log_timezone"] = "'UTC'",
            ["logging_collector"] = "off",
        };
        if (settings is not null)
            foreach (var (k, v) in settings) conf[k] = v;
        await File.AppendAllLinesAsync(Path.Combine(data, "postgresql.conf"),
            conf.Select(kv => $"{kv.Key} = {kv.Value}"), ct).ConfigureAwait(false);
        await File.AppendAllLinesAsync(Path.Combine(data, "pg_hba.conf"),
            ["host all all 127.0.0.1/32 trust", "host replication all 127.0.0.1/32 trust"], ct).ConfigureAwait(false);

        await RunAsync(Path.Combine(_binDirectory, "pg_ctl"),
            ["-D", data, "-l", LogFile, "-w", "-t", "60", "start"], asServerUser: true, ct).ConfigureAwait(false);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Stop();
    }

    /// <summary>Runs a server binary (pgbench, pg_recvlogical, psql …) as the server's user.</summary>
    public ProcessStartInfo StartInfoFor(string binary, IEnumerable<string> args, bool asServerUser = true)
    {
        var exe = Path.IsPathRooted(binary) ? binary : Path.Combine(_binDirectory, binary);
        var psi = new ProcessStartInfo { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (asServerUser && _runAsUser is not null)
        {
            psi.FileName = "/sbin/runuser";
            if (!File.Exists(psi.FileName)) psi.FileName = "runuser";
            psi.ArgumentList.Add("-u");
            psi.ArgumentList.Add(_runAsUser);
            psi.ArgumentList.Add("--");
            psi.ArgumentList.Add(exe);
        }
        else psi.FileName = exe;
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["PGTZ"] = "UTC";
        foreach (var (name, value) in _environment) psi.Environment[name] = value;
        return psi;
    }

    private async Task RunAsync(string exe, string[] args, bool asServerUser, CancellationToken ct)
    {
        using var p = Process.Start(StartInfoFor(exe, args, asServerUser))
            ?? throw new InvalidOperationException($"could not start {exe}");
        var stdout = p.StandardOutput.ReadToEndAsync(ct);
        var stderr = p.StandardError.ReadToEndAsync(ct);
        await p.WaitForExitAsync(ct).ConfigureAwait(false);
        if (p.ExitCode != 0)
        {
            var log = File.Exists(LogFile) ? await File.ReadAllTextAsync(LogFile, ct).ConfigureAwait(false) : "";
            throw new InvalidOperationException(
                $"{Path.GetFileName(exe)} {string.Join(' ', args)} exited with {p.ExitCode}:\n{await stdout.ConfigureAwait(false)}\n{await stderr.ConfigureAwait(false)}\n{log}");
        }
    }

    /// <summary>Stops the server with the given pg_ctl mode (fast, immediate) without removing its files.</summary>
    public async Task StopServerAsync(string mode = "fast")
    {
        await RunAsync(Path.Combine(_binDirectory, "pg_ctl"),
            ["-D", Path.Combine(Directory, "data"), "-m", mode, "-w", "stop"], asServerUser: true, CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>Starts a server stopped with <see cref="StopServerAsync"/> again, on the same port.</summary>
    public async Task StartServerAsync()
    {
        await RunAsync(Path.Combine(_binDirectory, "pg_ctl"),
            ["-D", Path.Combine(Directory, "data"), "-l", LogFile, "-w", "-t", "60", "start"], asServerUser: true, CancellationToken.None).ConfigureAwait(false);
    }

    private void Stop()
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 1) return;
        try
        {
            using var p = Process.Start(StartInfoFor(Path.Combine(_binDirectory, "pg_ctl"),
                ["-D", Path.Combine(Directory, "data"), "-m", "immediate", "-w", "stop"]));
            p?.WaitForExit(30_000);
        }
        catch (Exception) { /* best effort: the directory is removed below either way */ }
        try { System.IO.Directory.Delete(Directory, recursive: true); }
        catch (Exception) { /* a leftover temp directory is harmless */ }
    }

    /// <inheritdoc />
    public void Dispose() => Stop();

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        Stop();
        return ValueTask.CompletedTask;
    }

    /// <summary>Finds the server binaries: $HINDSIGHT_PG_BIN, then the newest /usr/lib/postgresql/*/bin, then PATH.</summary>
    public static string FindBinDirectory()
    {
        var env = Environment.GetEnvironmentVariable("HINDSIGHT_PG_BIN");
        if (!string.IsNullOrEmpty(env) && File.Exists(Path.Combine(env, "initdb"))) return env;
        if (System.IO.Directory.Exists("/usr/lib/postgresql"))
        {
            var best = System.IO.Directory.GetDirectories("/usr/lib/postgresql")
                .Select(d => (dir: Path.Combine(d, "bin"), ver: int.TryParse(Path.GetFileName(d), out var v) ? v : 0))
                .Where(x => File.Exists(Path.Combine(x.dir, "initdb")))
                .OrderByDescending(x => x.ver)
                .FirstOrDefault();
            if (best.dir is not null) return best.dir;
        }
        foreach (var p in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':'))
            if (p.Length > 0 && File.Exists(Path.Combine(p, "initdb"))) return p;
        throw new InvalidOperationException(
            "PostgreSQL server binaries (initdb, pg_ctl) were not found. Install them (Debian: apt-get install postgresql) or set HINDSIGHT_PG_BIN.");
    }

    private static string PickUnprivilegedUser()
    {
        var passwd = File.Exists("/etc/passwd") ? File.ReadAllLines("/etc/passwd") : [];
        foreach (var name in new[] { "postgres", "nobody" })
            if (passwd.Any(l => l.StartsWith(name + ":", StringComparison.Ordinal))) return name;
        throw new InvalidOperationException("running as root, and no unprivileged account (postgres, nobody) exists to run PostgreSQL");
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}
