using System.Net;
using System.Net.Sockets;

namespace Hindsight.Tests.Infrastructure;

/// <summary>Loopback ports nobody listens on, for the servers the tests start.</summary>
public static class FreePorts
{
    /// <summary>A port the system just handed out and released.</summary>
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
