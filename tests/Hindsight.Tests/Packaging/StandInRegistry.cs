using Hindsight.Server;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Hindsight.Tests.Packaging;

/// <summary>
/// The read side of a container registry (the OCI distribution API's <c>GET</c>/<c>HEAD</c> of manifests and blobs),
/// serving one image under any name and tag, on a loopback port over plain HTTP: the SDK pulls the base image of the
/// image it builds from here. It treats a registry named <c>localhost:port</c> as one without TLS.
/// </summary>
internal sealed class StandInRegistry : IAsyncDisposable
{
    private readonly WebApplication _app;

    private StandInRegistry(WebApplication app, string address)
    {
        _app = app;
        Address = address;
    }

    /// <summary>Its name as an image reference starts with it: <c>localhost:port</c>.</summary>
    public string Address { get; }

    /// <summary>How many blob downloads it served (the SDK takes the base layer from here).</summary>
    public int BlobsServed => _blobsServed;

    private int _blobsServed;

    public static async Task<StandInRegistry> StartAsync(StandInBaseImage image)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        StandInRegistry? registry = null;
        app.MapMethods("/v2/", ["GET", "HEAD"], () => Results.Json(new { }));
        app.MapMethods("/v2/{**path}", ["GET", "HEAD"], (string path, HttpContext http) =>
        {
            // <name>/manifests/<reference> or <name>/blobs/<digest>; a name may itself hold slashes.
            if (path.Contains("/manifests/", StringComparison.Ordinal))
                return Blob(http, image.Manifest, "application/vnd.oci.image.manifest.v1+json", image.ManifestDigest);
            var at = path.LastIndexOf("/blobs/", StringComparison.Ordinal);
            if (at >= 0 && image.Blobs.TryGetValue(path[(at + "/blobs/".Length)..], out var blob))
            {
                if (HttpMethods.IsGet(http.Request.Method)) Interlocked.Increment(ref registry!._blobsServed);
                return Blob(http, blob, "application/octet-stream", StandInBaseImage.Digest(blob));
            }
            return Results.NotFound();
        });
        await app.StartAsync();
        var port = new Uri(HindsightServer.Addresses(app).Single()).Port;
        registry = new StandInRegistry(app, $"localhost:{port}");
        return registry;
    }

    private static IResult Blob(HttpContext http, byte[] bytes, string contentType, string digest)
    {
        http.Response.Headers["Docker-Content-Digest"] = digest;
        return Results.Bytes(bytes, contentType);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
