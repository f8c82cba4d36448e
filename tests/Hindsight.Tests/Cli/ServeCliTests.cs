using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Hindsight.Cli;
using Hindsight.Server.Auth;
using Hindsight.Tests.Infrastructure;
using Hindsight.Tests.Server.Api;
using Xunit;

namespace Hindsight.Tests.Cli;

/// <summary><c>hindsight serve</c> from the command line: key generation, refusing to start without keys, serving until stopped.</summary>
[Collection(PostgresCollection.Name)]
[Trait("Category", "PostgreSQL")]
public sealed partial class ServeCliTests(PostgresFixture fixture)
{
    /// <summary>Captured output that a test can wait on while the command still runs.</summary>
    private sealed class WatchedWriter : StringWriter
    {
        private readonly object _gate = new();
        private readonly TaskCompletionSource<string> _firstLine = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<string> FirstLine => _firstLine.Task;

        public override void WriteLine(string? value)
        {
            lock (_gate) base.WriteLine(value);
            _firstLine.TrySetResult(value ?? "");
        }

        public override Task WriteLineAsync(string? value)
        {
            WriteLine(value);
            return Task.CompletedTask;
        }

        public override string ToString()
        {
            lock (_gate) return base.ToString();
        }
    }

    [Fact]
    public async Task Api_serve_generate_key_prints_the_key_once_with_a_line_that_holds_only_its_hash()
    {
        var output = new StringWriter();
        var code = await HindsightCli.RunAsync(["serve", "--generate-key", "admin", "--key-name", "ops"], CliEnvironment.Captured(output, new StringWriter()));
        Assert.Equal(0, code);
        var text = output.ToString();
        var key = KeyPattern().Match(text).Value;
        var line = text.Split('\n').Select(l => l.Trim()).Single(l => l.StartsWith("ops:admin:sha256:", StringComparison.Ordinal));
        Assert.Equal(ApiKeys.Hash(key), ApiKeyEntry.Parse(line).Sha256);

        var json = new StringWriter();
        Assert.Equal(0, await HindsightCli.RunAsync(["serve", "--generate-key", "read", "--format", "json"], CliEnvironment.Captured(json, new StringWriter())));
        var o = JsonNode.Parse(json.ToString())!;
        Assert.Equal("read", (string)o["scope"]!);
        Assert.StartsWith("read-", (string)o["name"]!, StringComparison.Ordinal);
        Assert.Equal(ApiKeys.Hash((string)o["key"]!), ApiKeyEntry.Parse((string)o["entry"]!).Sha256);

        var error = new StringWriter();
        Assert.Equal(1, await HindsightCli.RunAsync(["serve", "--generate-key", "root"], CliEnvironment.Captured(new StringWriter(), error)));
    }

    [Fact]
    public async Task Api_serve_refuses_to_start_without_keys_or_with_a_bad_entry()
    {
        var url = await fixture.CreateDatabaseAsync();
        var error = new StringWriter();
        Assert.Equal(1, await HindsightCli.RunAsync(["serve", "--source", url], CliEnvironment.Captured(new StringWriter(), error)));
        Assert.Contains("no API keys", error.ToString(), StringComparison.Ordinal);

        error = new StringWriter();
        var env = new Dictionary<string, string> { [ServeCommand.KeysVariable] = "ops:admin:sha256:nothex" };
        Assert.Equal(1, await HindsightCli.RunAsync(["serve", "--source", url], CliEnvironment.Captured(new StringWriter(), error, env)));
        Assert.Contains("$HINDSIGHT_API_KEYS: API key 'ops': the hash is not hexadecimal", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Api_serve_prints_its_address_serves_with_keys_from_the_environment_and_a_file_and_stops_on_cancel()
    {
        await using var h = await CaptureHarness.CreateAsync(fixture, ApiServer.Schema);
        var fromEnv = ApiKeys.Generate("env-key", ApiKeyScope.Read);
        var fromFile = ApiKeys.Generate("file-key", ApiKeyScope.Admin);
        var file = Path.GetTempFileName();
        await File.WriteAllTextAsync(file, $"# hindsight keys\n{fromFile.Entry}\n");
        try
        {
            var output = new WatchedWriter();
            using var stop = new CancellationTokenSource();
            var env = new Dictionary<string, string> { ["HINDSIGHT_SOURCE"] = h.ConnectionString, [ServeCommand.KeysVariable] = fromEnv.Entry.ToString() };
            var serve = HindsightCli.RunAsync(["serve", "--urls", "http://127.0.0.1:0", "--keys-file", file, "--slot", h.Slot, "--publication", h.Slot],
                CliEnvironment.Captured(output, new StringWriter(), env), stop.Token);
            var line = await output.FirstLine.WaitAsync(TimeSpan.FromSeconds(60));
            var address = AddressPattern().Match(line);
            Assert.True(address.Success, line);
            Assert.Contains("2 API key(s)", line, StringComparison.Ordinal);
            Assert.DoesNotContain("password", line, StringComparison.OrdinalIgnoreCase);

            using var client = new HttpClient { BaseAddress = new Uri(address.Groups[1].Value) };
            Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/api/health")).StatusCode);
            foreach (var key in new[] { fromEnv.Key, fromFile.Key })
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, "/api/changes");
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
                Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(request)).StatusCode);
            }

            await stop.CancelAsync();
            Assert.Equal(0, await serve.WaitAsync(TimeSpan.FromSeconds(30)));
            await Assert.ThrowsAnyAsync<HttpRequestException>(() => client.GetAsync("/api/health"));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [GeneratedRegex(@"hsk_[A-Za-z0-9_-]{40,}")]
    private static partial Regex KeyPattern();

    [GeneratedRegex(@"at (http://127\.0\.0\.1:\d+)/api ")]
    private static partial Regex AddressPattern();
}
