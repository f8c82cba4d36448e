using System.Text.Json;
using Hindsight.Tests.Infrastructure;
using Xunit;

namespace Hindsight.Tests.Diagnostics;

/// <summary><c>run --log-format json</c>: every log entry one JSON object per line, for log shippers.</summary>
[Collection(PostgresCollection.Name)]
[Trait("Category", "PostgreSQL")]
public sealed class LogFormatTests(PostgresFixture fixture)
{
    [Fact]
    public async Task Json_logs_are_one_object_per_line_with_the_messages_named_values()
    {
        await using var h = await CaptureHarness.CreateAsync(fixture, "CREATE TABLE items (id int PRIMARY KEY);");
        using var worker = WorkerProcess.Start("--source", h.ConnectionString, "--slot", h.Slot, "--publication", h.Slot, "--log-format", "json");
        await h.ExecuteAsync("INSERT INTO items VALUES (1)");
        await h.CatchUpAsync();
        Assert.Equal(0, worker.Terminate(TimeSpan.FromSeconds(20)));

        // The signal notice is printed before logging can say anything: the only line that is not a log entry.
        var lines = worker.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith("hindsight: SIGTERM", StringComparison.Ordinal)).ToList();
        Assert.True(lines.Count >= 3, worker.Output);
        var entries = lines.Select(l => JsonDocument.Parse(l).RootElement).ToList(); // throws on a line that is not JSON
        foreach (var e in entries)
            foreach (var field in new[] { "Timestamp", "LogLevel", "Category", "Message" })
                Assert.True(e.TryGetProperty(field, out _), $"{field} missing in {e}");
        Assert.StartsWith("hindsight 0.", entries[0].GetProperty("Message").GetString(), StringComparison.Ordinal);
        var capturing = entries.Single(e => e.GetProperty("Message").GetString()!.StartsWith("capturing slot", StringComparison.Ordinal));
        Assert.Equal(h.Slot, capturing.GetProperty("State").GetProperty("Slot").GetString());
    }
}
