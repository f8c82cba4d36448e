using System.Diagnostics;
using System.Globalization;
using NATS.Client.Core;
using NATS.Client.JetStream;

namespace Hindsight.Tests.Infrastructure;

/// <summary>
/// Private NATS servers with JetStream, started by the test from Debian's <c>nats-server</c> (or
/// <c>$HINDSIGHT_NATS_SERVER</c>) on loopback ports, each with its store in a temporary directory: one node, or a
/// cluster of three with routes between them. Nodes can be killed and restarted; everything is removed at the end.
/// </summary>
public sealed class NatsCluster : IAsyncDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hindsight-nats-").FullName;
    private readonly List<Node> _nodes = [];

    private sealed class Node(string name, int port, int clusterPort, string config)
    {
        public string Name => name;
        public int Port => port;
        public int ClusterPort => clusterPort;
        public string Config => config;
        public Process? Process { get; set; }
    }

    private NatsCluster() { }

    /// <summary>The server binary.</summary>
    public static string ServerPath =>
        Environment.GetEnvironmentVariable("HINDSIGHT_NATS_SERVER") is { Length: > 0 } path ? path : "/usr/sbin/nats-server";

    /// <summary>Every node's client URL.</summary>
    public IReadOnlyList<string> Urls => _nodes.Select(n => $"nats://127.0.0.1:{n.Port}").ToList();

    /// <summary>Starts <paramref name="nodes"/> nodes (1, or 3 for a cluster) and waits until JetStream answers.</summary>
    public static async Task<NatsCluster> StartAsync(int nodes = 1)
    {
        if (!File.Exists(ServerPath))
            throw new InvalidOperationException($"the scale path's tests need nats-server at {ServerPath}, which is missing: install Debian's package " +
                                                "(apt-get install nats-server; .ci/run does) or set HINDSIGHT_NATS_SERVER");
        var cluster = new NatsCluster();
        try
        {
            var ports = Enumerable.Range(0, nodes).Select(_ => (FreePorts.Next(), FreePorts.Next())).ToList();
            for (var i = 0; i < nodes; i++)
            {
                var name = $"n{i + 1}";
                var store = Path.Combine(cluster._dir, name);
                var routes = string.Join(", ", ports.Where((_, j) => j != i).Select(p => $"\"nats-route://127.0.0.1:{p.Item2}\""));
                var config = string.Create(CultureInfo.InvariantCulture, $$"""
                    server_name: {{name}}
                    listen: 127.0.0.1:{{ports[i].Item1}}
                    jetstream { store_dir: "{{store}}", max_memory_store: 64MB, max_file_store: 2GB }
                    """) + (nodes == 1 ? "" : $$"""

                    cluster { name: hindsight-test, listen: 127.0.0.1:{{ports[i].Item2}}, routes: [{{routes}}] }
                    """);
                var path = Path.Combine(cluster._dir, name + ".conf");
                await File.WriteAllTextAsync(path, config);
                cluster._nodes.Add(new Node(name, ports[i].Item1, ports[i].Item2, path));
            }
            foreach (var node in cluster._nodes) cluster.Start(node);
            await cluster.WaitForJetStreamAsync();
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>Kills node <paramref name="index"/> (SIGKILL).</summary>
    public void Kill(int index)
    {
        var p = _nodes[index].Process;
        if (p is { HasExited: false }) { p.Kill(); p.WaitForExit(); }
    }

    /// <summary>Starts node <paramref name="index"/> again, on its ports and store.</summary>
    public void Restart(int index) => Start(_nodes[index]);

    private void Start(Node node)
    {
        var psi = new ProcessStartInfo(ServerPath) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(node.Config);
        var process = Process.Start(psi) ?? throw new InvalidOperationException("nats-server did not start");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        node.Process = process;
    }

    /// <summary>Waits until JetStream answers (in a cluster: once its meta leader is elected).</summary>
    public async Task WaitForJetStreamAsync()
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        Exception? last = null;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                await using var nats = new NatsConnection(new NatsOpts { Url = string.Join(",", Urls), ConnectTimeout = TimeSpan.FromSeconds(2) });
                await nats.ConnectAsync();
                await new NatsJSContext(nats).GetAccountInfoAsync();
                return;
            }
            catch (Exception e) when (e is NatsException or NatsJSApiException or TimeoutException)
            {
                last = e;
                await Task.Delay(200);
            }
        }
        throw new TimeoutException("JetStream did not answer within 30 s", last);
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        for (var i = 0; i < _nodes.Count; i++) Kill(i);
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { /* a node's files still closing */ }
        return ValueTask.CompletedTask;
    }
}
