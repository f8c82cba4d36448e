using Hindsight.Tests.Infrastructure;

namespace Hindsight.Tests.Context;

/// <summary>Reads what the capture worker stored for table <c>items</c>, and counts context messages in the WAL.</summary>
internal static class StoredContexts
{
    /// <summary>A fresh database with the items table (<see cref="ShopDb.Sql"/>), set up, with a capture worker running.</summary>
    public static async Task<CaptureHarness> StartAsync(PostgresFixture fixture)
    {
        var h = await CaptureHarness.CreateAsync(fixture, ShopDb.Sql);
        h.StartWorker();
        return h;
    }

    /// <summary>Asserts that a stored context equals the expected JSON (compared as JSON, not as text).</summary>
    public static void AssertContext(string expectedJson, string storedJson) =>
        Xunit.Assert.True(System.Text.Json.JsonElement.DeepEquals(
                System.Text.Json.JsonDocument.Parse(expectedJson).RootElement, System.Text.Json.JsonDocument.Parse(storedJson).RootElement),
            $"expected {expectedJson}, stored {storedJson}");

    /// <summary>(operation, name after/before, context) of every stored change to items, in commit order.</summary>
    public static Task<List<string[]>> ItemsAsync(CaptureHarness h) => h.RowsAsync(
        """
        SELECT operation, coalesce(after->>'name', before->>'name'), context::text
        FROM hindsight.changes WHERE "table" = 'items' ORDER BY commit_lsn, ordinal
        """);

    /// <summary>Starts counting hindsight messages from now (a test_decoding slot of its own).</summary>
    public static async Task<string> StartCountingMessagesAsync(CaptureHarness h)
    {
        var slot = h.Slot + "_peek";
        await h.ExecuteAsync("SELECT pg_create_logical_replication_slot($1, 'test_decoding')", slot);
        return slot;
    }

    /// <summary>Hindsight messages written since <see cref="StartCountingMessagesAsync"/>; drops the slot.</summary>
    public static async Task<long> CountMessagesAsync(CaptureHarness h, string slot)
    {
        var n = await h.ScalarAsync<long>(
            "SELECT count(*) FROM pg_logical_slot_peek_changes($1, NULL, NULL) WHERE data LIKE 'message:%prefix: hindsight%'", slot);
        await h.ExecuteAsync("SELECT pg_drop_replication_slot($1)", slot);
        return n;
    }
}
