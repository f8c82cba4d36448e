using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace Hindsight.Tests.Packaging;

/// <summary>
/// A stand-in for Microsoft's <c>mcr.microsoft.com/dotnet/aspnet</c> image, which the SDK builds the CLI's image on
/// and which the build machine cannot download (it reaches no container registry). It holds what that image holds for
/// an app like ours: Debian 12's C and C++ runtime, zlib and OpenSSL (taken from this machine's own Debian packages,
/// listed by <c>dpkg -L</c>), the CA bundle, the app user (uid 1654) and the .NET and ASP.NET Core shared runtimes of
/// the SDK running the test, at <c>/usr/share/dotnet</c> as in Microsoft's image. One layer, in OCI format.
/// </summary>
internal sealed class StandInBaseImage
{
    private static readonly string[] DebianPackages = ["libc6", "libgcc-s1", "libstdc++6", "zlib1g", "libssl3"];
    private static readonly string[] SkippedFolders = ["/usr/share/doc", "/usr/share/man", "/usr/share/locale", "/usr/share/lintian", "/usr/share/info"];

    private StandInBaseImage(byte[] manifest, IReadOnlyDictionary<string, byte[]> blobs)
    {
        Manifest = manifest;
        Blobs = blobs;
    }

    /// <summary>The OCI image manifest.</summary>
    public byte[] Manifest { get; }

    /// <summary>The image's blobs (its config and its layer) by digest (<c>sha256:…</c>).</summary>
    public IReadOnlyDictionary<string, byte[]> Blobs { get; }

    /// <summary>The manifest's digest.</summary>
    public string ManifestDigest => Digest(Manifest);

    /// <summary>Builds it from this machine's Debian packages and the runtime under <paramref name="dotnetRoot"/>.</summary>
    public static async Task<StandInBaseImage> BuildAsync(string dotnetRoot)
    {
        using var tar = new MemoryStream();
        await using (var writer = new TarWriter(tar, TarEntryFormat.Pax, leaveOpen: true))
        {
            var written = new HashSet<string>(StringComparer.Ordinal);
            // Debian 12 merges /lib into /usr/lib by symbolic links; the links go in as links and the files at their
            // real paths, so that nothing in the layer lies behind a link.
            foreach (var link in new[] { "/bin", "/sbin", "/lib", "/lib64" })
                if (new FileInfo(link).LinkTarget is not null) await AddAsync(writer, written, link, link);
            foreach (var path in (await PackageFilesAsync()).Select(p => RealPath(Path.GetDirectoryName(p)!).TrimEnd('/') + "/" + Path.GetFileName(p)).Distinct().Order(StringComparer.Ordinal))
                await AddAsync(writer, written, path, path);
            foreach (var path in Directory.EnumerateFileSystemEntries(Path.Combine(dotnetRoot, "shared"), "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
                await AddAsync(writer, written, path, "/usr/share/dotnet" + path[dotnetRoot.Length..]);
            await AddAsync(writer, written, Path.Combine(dotnetRoot, "dotnet"), "/usr/share/dotnet/dotnet");
            await AddAsync(writer, written, Path.Combine(dotnetRoot, "host"), "/usr/share/dotnet/host");
            foreach (var path in Directory.EnumerateFileSystemEntries(Path.Combine(dotnetRoot, "host"), "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
                await AddAsync(writer, written, path, "/usr/share/dotnet" + path[dotnetRoot.Length..]);
            await writer.WriteEntryAsync(new PaxTarEntry(TarEntryType.SymbolicLink, "usr/bin/dotnet") { LinkName = "../share/dotnet/dotnet" });
            await AddTextAsync(writer, "etc/passwd", "root:x:0:0:root:/root:/usr/sbin/nologin\napp:x:1654:1654::/home/app:/usr/sbin/nologin\n");
            await AddTextAsync(writer, "etc/group", "root:x:0:\napp:x:1654:\n");
            if (File.Exists("/etc/ssl/certs/ca-certificates.crt"))
                await writer.WriteEntryAsync("/etc/ssl/certs/ca-certificates.crt", "etc/ssl/certs/ca-certificates.crt");
            await writer.WriteEntryAsync(new PaxTarEntry(TarEntryType.Directory, "tmp/") { Mode = (UnixFileMode)0b1_111_111_111 });
            await writer.WriteEntryAsync(new PaxTarEntry(TarEntryType.Directory, "home/app/") { Uid = 1654, Gid = 1654, Mode = (UnixFileMode)0b111_101_101 });
        }

        var uncompressed = tar.ToArray();
        using var gz = new MemoryStream();
        await using (var gzip = new GZipStream(gz, CompressionLevel.Fastest, leaveOpen: true))
            await gzip.WriteAsync(uncompressed);
        var layer = gz.ToArray();

        var config = Encoding.UTF8.GetBytes(new JsonObject
        {
            ["architecture"] = "amd64",
            ["os"] = "linux",
            ["config"] = new JsonObject
            {
                ["Env"] = new JsonArray("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "APP_UID=1654", "DOTNET_RUNNING_IN_CONTAINER=true"),
                ["User"] = "1654",
                ["WorkingDir"] = "/",
            },
            ["rootfs"] = new JsonObject { ["type"] = "layers", ["diff_ids"] = new JsonArray(Digest(uncompressed)) },
        }.ToJsonString());
        var manifest = Encoding.UTF8.GetBytes(new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = "application/vnd.oci.image.manifest.v1+json",
            ["config"] = Descriptor("application/vnd.oci.image.config.v1+json", config),
            ["layers"] = new JsonArray(Descriptor("application/vnd.oci.image.layer.v1.tar+gzip", layer)),
        }.ToJsonString());
        return new StandInBaseImage(manifest, new Dictionary<string, byte[]> { [Digest(config)] = config, [Digest(layer)] = layer });
    }

    /// <summary>A blob's digest as registries name it.</summary>
    public static string Digest(byte[] bytes) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes));

    private static JsonObject Descriptor(string mediaType, byte[] blob) =>
        new() { ["mediaType"] = mediaType, ["digest"] = Digest(blob), ["size"] = blob.Length };

    private static async Task<IEnumerable<string>> PackageFilesAsync()
    {
        var psi = new ProcessStartInfo("dpkg") { RedirectStandardOutput = true, UseShellExecute = false };
        psi.ArgumentList.Add("-L");
        foreach (var p in DebianPackages) psi.ArgumentList.Add(p);
        using var dpkg = Process.Start(psi)!;
        var listed = await dpkg.StandardOutput.ReadToEndAsync();
        await dpkg.WaitForExitAsync();
        if (dpkg.ExitCode != 0) throw new InvalidOperationException($"dpkg -L {string.Join(' ', DebianPackages)} failed ({dpkg.ExitCode})");
        return listed.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(p => p.StartsWith('/') && p != "/." && !SkippedFolders.Any(s => p == s || p.StartsWith(s + "/", StringComparison.Ordinal)))
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal);
    }

    /// <summary>A folder's path with every symbolic link on the way resolved.</summary>
    private static string RealPath(string folder)
    {
        var real = "/";
        foreach (var part in folder.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            var next = Path.Combine(real, part);
            real = new DirectoryInfo(next).LinkTarget is { } target ? RealPath(Path.GetFullPath(target, real)) : next;
        }
        return real;
    }

    /// <summary>Adds a file, folder or symbolic link as it is on disk (a link stays a link), with its parent folders.</summary>
    private static async Task AddAsync(TarWriter writer, HashSet<string> written, string source, string target)
    {
        if (!Path.Exists(source) && new FileInfo(source).LinkTarget is null) return; // listed by dpkg, gone since (diverted)
        var name = target.TrimStart('/');
        var parent = Path.GetDirectoryName(name);
        if (!string.IsNullOrEmpty(parent) && !written.Contains(parent + "/"))
            await AddAsync(writer, written, Path.GetDirectoryName(source)!, "/" + parent);
        var isFolder = Directory.Exists(source) && new FileInfo(source).LinkTarget is null;
        if (isFolder) name += "/";
        if (!written.Add(name)) return;
        await writer.WriteEntryAsync(source, name);
    }

    private static async Task AddTextAsync(TarWriter writer, string name, string text)
    {
        var entry = new PaxTarEntry(TarEntryType.RegularFile, name)
        {
            Mode = (UnixFileMode)0b110_100_100,
            DataStream = new MemoryStream(Encoding.UTF8.GetBytes(text)),
        };
        await writer.WriteEntryAsync(entry);
    }
}
