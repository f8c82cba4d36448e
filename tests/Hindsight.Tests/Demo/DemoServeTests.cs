using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Hindsight.Cli;
using Hindsight.Demo;
using Hindsight.Tests.Infrastructure;
using Xunit;

namespace Hindsight.Tests.Demo;

/// <summary>The demo (samples/Hindsight.Demo) ends by serving the dashboard over its data, with an admin key printed for the run, until stopped.</summary>
[Collection(PostgresCollection.Name)]
[Trait("Category", "PostgreSQL")]
public sealed partial class DemoServeTests
{
    /// <summary>Output that a test may read while the command still writes it (from another thread).</summary>
    private sealed class SyncWriter : StringWriter
    {
        private readonly object _gate = new();

        public override void Write(char value) { lock (_gate) base.Write(value); }

        public override void Write(string? value) { lock (_gate) base.Write(value); }

        public override void Write(char[] buffer, int index, int count) { lock (_gate) base.Write(buffer, index, count); }

        public override string ToString() { lock (_gate) return base.ToString(); }
    }

    [Fact]
    public async Task Demo_serves_the_dashboard_over_its_data_with_an_admin_key_printed_for_the_run_until_stopped()
    {
        var output = new SyncWriter();
        using var stop = new CancellationTokenSource();
        var demo = DemoCommand.RunAsync(["--timeout", "60", "--slot", "hs_demo_serve", "--urls", "http://127.0.0.1:0"],
            CliEnvironment.Captured(output, new StringWriter()), stop.Token);
        try
        {
            // The demo prints its trail first, then the dashboard's address and key.
            Match address, key;
            var deadline = DateTime.UtcNow.AddMinutes(3);
            while (true)
            {
                var text = output.ToString();
                address = AddressPattern().Match(text);
                key = KeyPattern().Match(text);
                if (address.Success && key.Success) break;
                if (demo.IsCompleted) Assert.Fail($"the demo ended (exit {await demo}) before serving:\n{text}");
                if (DateTime.UtcNow > deadline) Assert.Fail("no dashboard address and key printed:\n" + text);
                await Task.Delay(200);
            }
            Assert.Contains("carol@support.example.com", output.ToString(), StringComparison.Ordinal); // the trail came first

            using var client = new HttpClient { BaseAddress = new Uri(address.Groups[1].Value), Timeout = TimeSpan.FromSeconds(30) };
            using var page = await client.GetAsync("/");
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
            Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
            Assert.Contains("<script type=\"module\" src=\"/js/app.js\"></script>", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            using var script = await client.GetAsync("/js/app.js");
            Assert.Equal(HttpStatusCode.OK, script.StatusCode);
            Assert.Equal("text/javascript", script.Content.Headers.ContentType?.MediaType);
            Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/api/changes")).StatusCode);

            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key.Value);
            var session = JsonNode.Parse(await client.GetStringAsync("/api/session"))!;
            Assert.Equal("admin", (string)session["scope"]!);
            var changes = JsonNode.Parse(await client.GetStringAsync("/api/changes?limit=1000&order=oldest"))!["changes"]!.AsArray();
            // The demo's 13 changes by the shop, its job and by hand, then its revert of the billing job.
            Assert.True(changes.Count >= 14, $"{changes.Count} changes");
            Assert.Equal("alice@example.com", (string)changes[0]!["context"]!["userId"]!);
            Assert.Contains(changes, c => c!["context"]!["userId"]?.GetValue<string>() == "carol@support.example.com" && (string)c["operation"]! == "UPDATE");

            await stop.CancelAsync();
            Assert.Equal(0, await demo.WaitAsync(TimeSpan.FromSeconds(60)));
            await Assert.ThrowsAnyAsync<HttpRequestException>(() => client.GetAsync("/api/session"));
        }
        finally
        {
            await stop.CancelAsync();
            try { await demo.WaitAsync(TimeSpan.FromSeconds(60)); } catch (Exception) { /* reported above */ }
        }
    }

    [GeneratedRegex(@"the dashboard is serving the demo's data at (http://127\.0\.0\.1:\d+)/")]
    private static partial Regex AddressPattern();

    [GeneratedRegex(@"hsk_[A-Za-z0-9_-]{40,}")]
    private static partial Regex KeyPattern();
}
