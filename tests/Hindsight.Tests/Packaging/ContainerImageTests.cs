using System.Formats.Tar;
using System.IO.Compression;
using System.Reflection;
using System.Text.Json;
using Hindsight.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace Hindsight.Tests.Packaging;

/// <summary>
/// The container image as the SDK builds it (<c>dotnet publish -t:PublishContainer</c>), written to a tarball so that
/// no Docker daemon is needed. Its base is <see cref="StandInBaseImage"/>, served by <see cref="StandInRegistry"/>,
/// because this machine cannot download Microsoft's. The test reads the tarball's own manifest and config (entrypoint,
/// user, labels, ports), then unpacks its layers and runs the CLI from them.
/// </summary>
/// <remarks>In the PostgreSQL collection although it needs no server: it builds the CLI in Release like the packaging
/// test does, and two builds of one project at once would share its obj/ folder.</remarks>
[Collection(PostgresCollection.Name)]
[Trait("Category", "PostgreSQL")]
public sealed class ContainerImageTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("hindsight-image-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    [Fact]
    public async Task The_image_tarball_runs_the_CLI_as_a_user_that_is_not_root_and_carries_its_labels()
    {
        var dotnet = WorkerProcess.DotnetHost();
        var baseImage = await StandInBaseImage.BuildAsync(Path.GetDirectoryName(Path.GetFullPath(dotnet))!);
        await using var registry = await StandInRegistry.StartAsync(baseImage);
        var project = typeof(ContainerImageTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(a => a.Key == "HindsightCliProject").Value!;
        var archive = Path.Combine(_temp, "hindsight.tar");
        var publish = await RunAsync(dotnet, ["publish", project, "-c", "Release", "-t:PublishContainer", "--nologo",
            $"-p:ContainerBaseImage={registry.Address}/dotnet/aspnet:10.0", $"-p:ContainerArchiveOutputPath={archive}"]);
        Assert.True(publish.Code == 0, publish.Text);
        Assert.True(registry.BlobsServed > 0, "the SDK took no blob from the stand-in registry");

        var files = ReadArchive(archive);
        var index = JsonDocument.Parse(files["index.json"]).RootElement.GetProperty("manifests").EnumerateArray().ToList();
        var version = typeof(ContainerImageTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "HindsightVersion").Value!;
        Assert.Equal([version, "latest"], index.Select(m => m.GetProperty("annotations").GetProperty("org.opencontainers.image.ref.name").GetString()).Order());
        var manifest = JsonDocument.Parse(Blob(files, index.Select(m => m.GetProperty("digest").GetString()!).Distinct().Single())).RootElement;
        var config = JsonDocument.Parse(Blob(files, manifest.GetProperty("config").GetProperty("digest").GetString()!)).RootElement.GetProperty("config");
        output.WriteLine(config.ToString());

        // Not root: the .NET images' app user, by number so that it needs no passwd entry.
        Assert.Equal("1654", config.GetProperty("User").GetString());
        // The SDK's entrypoint for an app that runs on the image's shared runtime.
        Assert.Equal(["dotnet", "/app/hindsight.dll"], config.GetProperty("Entrypoint").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("/app/", config.GetProperty("WorkingDir").GetString());
        Assert.Equal(["8080/tcp", "9464/tcp"], config.GetProperty("ExposedPorts").EnumerateObject().Select(p => p.Name).Order());
        var labels = config.GetProperty("Labels").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString());
        Assert.Equal(version, labels["org.opencontainers.image.version"]);
        Assert.Equal(await CommitAsync(project), labels["org.opencontainers.image.revision"]);
        Assert.Equal("Hindsight", labels["org.opencontainers.image.title"]);
        Assert.Equal("MIT", labels["org.opencontainers.image.licenses"]);
        Assert.StartsWith("Automatic audit trails", labels["org.opencontainers.image.description"], StringComparison.Ordinal);
        Assert.Equal($"{registry.Address}/dotnet/aspnet:10.0", labels["org.opencontainers.image.base.name"]);

        // The base's layer unchanged under the app's; every blob is what its digest says.
        var layers = manifest.GetProperty("layers").EnumerateArray().Select(l => l.GetProperty("digest").GetString()!).ToList();
        Assert.Equal(2, layers.Count);
        Assert.True(baseImage.Blobs.ContainsKey(layers[0]), "the base layer was not kept as it was");
        foreach (var digest in layers) Assert.Equal(digest, StandInBaseImage.Digest(Blob(files, digest)));

        // The layers, unpacked in order, hold a CLI that runs on the base's dotnet host and runtime, as the image's user
        // where the test can switch to it (as root, through util-linux's setpriv).
        var root = Path.Combine(_temp, "rootfs");
        foreach (var digest in layers)
        {
            using var layer = new GZipStream(new MemoryStream(Blob(files, digest)), CompressionMode.Decompress);
            Unpack(layer, root);
        }
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(_temp, (UnixFileMode)0b111_101_101);
        var asApp = Environment.UserName == "root" && File.Exists("/usr/bin/setpriv");
        string[] entrypoint = [Path.Combine(root, "usr", "share", "dotnet", "dotnet"), Path.Combine(root, "app", "hindsight.dll"), "--version"];
        string[] command = asApp ? ["/usr/bin/setpriv", "--reuid=1654", "--regid=1654", "--clear-groups", .. entrypoint] : entrypoint;
        var run = await RunAsync(command[0], command[1..]);
        Assert.True(run.Code == 0, run.Text);
        Assert.StartsWith($"{version}+{labels["org.opencontainers.image.revision"]}", run.Text.Trim(), StringComparison.Ordinal);
        output.WriteLine(asApp ? "ran as uid 1654" : "ran as the test's own user");
    }

    /// <summary>Unpacks a layer as a container runtime would: links stay links even where they point at absolute paths
    /// (which .NET's own extraction refuses, rightly for archives of unknown origin).</summary>
    private static void Unpack(Stream layer, string root)
    {
        using var reader = new TarReader(layer);
        while (reader.GetNextEntry() is { } entry)
        {
            var path = Path.Combine(root, entry.Name.TrimStart('/'));
            Directory.CreateDirectory(Path.GetDirectoryName(path.TrimEnd('/'))!);
            switch (entry.EntryType)
            {
                case TarEntryType.Directory:
                    Directory.CreateDirectory(path);
                    break;
                case TarEntryType.SymbolicLink:
                    if (Path.Exists(path) || new FileInfo(path).LinkTarget is not null) File.Delete(path);
                    File.CreateSymbolicLink(path, entry.LinkName);
                    break;
                case TarEntryType.RegularFile or TarEntryType.V7RegularFile:
                    entry.ExtractToFile(path, overwrite: true);
                    break;
            }
        }
    }

    private static byte[] Blob(Dictionary<string, byte[]> files, string digest) => files["blobs/" + digest.Replace(':', '/')];

    private async Task<string> CommitAsync(string project)
    {
        var git = await RunAsync("git", ["-C", Path.GetDirectoryName(project)!, "rev-parse", "HEAD"]);
        Assert.Equal(0, git.Code);
        return git.Text.Trim();
    }

    private static Dictionary<string, byte[]> ReadArchive(string path)
    {
        using var file = File.OpenRead(path);
        // The SDK writes a plain tar whatever the name says; a gzipped one (recompressed for shipping) reads too.
        var gzipped = file.ReadByte() == 0x1f && file.ReadByte() == 0x8b;
        file.Position = 0;
        using var stream = gzipped ? new GZipStream(file, CompressionMode.Decompress) : (Stream)file;
        using var reader = new TarReader(stream);
        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        while (reader.GetNextEntry() is { } entry)
        {
            if (entry.DataStream is null) continue;
            using var copy = new MemoryStream();
            entry.DataStream.CopyTo(copy);
            files[entry.Name] = copy.ToArray();
        }
        return files;
    }

    private Task<(int Code, string Text)> RunAsync(string file, string[] args) => ChildProcess.RunAsync(output, file, args);
}
