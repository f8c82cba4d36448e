using System.Net.Sockets;
using System.Text;
using Hindsight.Tests.Infrastructure;
using Xunit;

namespace Hindsight.Tests.Diagnostics;

/// <summary>
/// <c>hindsight run</c> under systemd's <c>Type=notify</c>: the notification socket systemd would pass in
/// <c>NOTIFY_SOCKET</c>, played by the test, receives READY=1 once the worker captures and STOPPING=1 at its stop.
/// </summary>
[Collection(PostgresCollection.Name)]
[Trait("Category", "PostgreSQL")]
public sealed class SystemdNotifyTests(PostgresFixture fixture) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hindsight-notify-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Run_tells_systemd_it_is_ready_once_capturing_and_when_it_stops()
    {
        await using var h = await CaptureHarness.CreateAsync(fixture, "CREATE TABLE items (id int PRIMARY KEY);");
        var path = Path.Combine(_dir, "notify");
        using var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(path));
        using var worker = WorkerProcess.Start(["--source", h.ConnectionString, "--slot", h.Slot, "--publication", h.Slot],
            psi => { psi.Environment["NOTIFY_SOCKET"] = path; return psi; });
        await h.ExecuteAsync("INSERT INTO items VALUES (1)");
        Assert.Equal("READY=1", await ReceiveAsync(socket, worker));
        await h.CatchUpAsync();
        Assert.Equal(1L, await h.ScalarAsync<long>("SELECT count(*) FROM hindsight.changes WHERE \"table\" = 'items'"));
        var stopping = ReceiveAsync(socket, worker);
        Assert.Equal(0, worker.Terminate(TimeSpan.FromSeconds(20)));
        Assert.Equal("STOPPING=1", await stopping);
    }

    private static async Task<string> ReceiveAsync(Socket socket, WorkerProcess worker)
    {
        var buffer = new byte[256];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            var n = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
            return Encoding.ASCII.GetString(buffer, 0, n).Trim();
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException("no notification from the worker:\n" + worker.Output);
        }
    }
}
