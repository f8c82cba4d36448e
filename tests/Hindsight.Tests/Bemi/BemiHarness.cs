using Hindsight.Setup;
using Hindsight.Tests.Infrastructure;

namespace Hindsight.Tests.Bemi;

/// <summary>A <see cref="CaptureHarness"/> whose setup ran again with <c>--bemi-compat</c>, and a message counter.</summary>
internal static class BemiHarness
{
    /// <summary>The setup options of the harness's database, with Bemi compatibility.</summary>
    public static SetupOptions Options(CaptureHarness h) => new()
    {
        SourceConnectionString = h.ConnectionString, Slot = h.Slot, Publication = h.Slot, Schemas = ["public"], BemiCompat = true,
    };

    /// <summary>
    /// Creates the harness (plain setup), then runs setup again with --bemi-compat: setup is idempotent.
    /// Dispose the returned lease, not the harness: it also drops the slot (the shared server has few).
    /// </summary>
    public static async Task<(CaptureHarness Harness, SlotLease Lease)> CreateAsync(PostgresFixture fixture, string schemaSql)
    {
        var h = await CaptureHarness.CreateAsync(fixture, schemaSql);
        await new SetupRunner(Options(h)).RunAsync();
        return (h, new SlotLease(h));
    }
}

/// <summary>Disposes a harness and drops its slot.</summary>
internal sealed class SlotLease(CaptureHarness h) : IAsyncDisposable
{
    public async ValueTask DisposeAsync()
    {
        try { await h.StopWorkerAsync(); } catch (Exception) { /* the test already reported it */ }
        // The walsender of a stopped worker may hold the slot for a moment.
        for (var i = 0; i < 50; i++)
        {
            try
            {
                await h.ExecuteAsync("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1", h.Slot);
                break;
            }
            catch (Npgsql.PostgresException e) when (e.SqlState == Npgsql.PostgresErrorCodes.ObjectInUse) { await Task.Delay(100); }
        }
        await h.DisposeAsync();
    }
}

/// <summary>
/// A second logical slot with test_decoding, which shows logical messages in WAL order among the row changes,
/// so a test can count the messages the trigger wrote. Dropped on dispose.
/// </summary>
internal sealed class MessageTap : IAsyncDisposable
{
    private readonly CaptureHarness _h;
    private readonly string _slot;

    private MessageTap(CaptureHarness h, string slot) { _h = h; _slot = slot; }

    public static async Task<MessageTap> CreateAsync(CaptureHarness h)
    {
        var slot = h.Slot + "_tap";
        await h.ExecuteAsync("SELECT pg_create_logical_replication_slot($1, 'test_decoding')", slot);
        return new MessageTap(h, slot);
    }

    /// <summary>Everything decoded since the last call: BEGIN, messages, row changes, COMMIT (test_decoding's text).</summary>
    public async Task<List<string>> TakeAsync()
    {
        // Decoding reads only flushed WAL, and the test server commits with synchronous_commit = off.
        var written = await _h.ScalarAsync<string>("SELECT pg_current_wal_insert_lsn()::text");
        for (var i = 0; i < 100 && !await _h.ScalarAsync<bool>("SELECT pg_current_wal_flush_lsn() >= $1::text::pg_lsn", written); i++)
            await Task.Delay(50);
        return (await _h.RowsAsync("SELECT data FROM pg_logical_slot_get_changes($1, NULL, NULL, 'include-xids', '0')", _slot))
            .Select(r => r[0]).ToList();
    }

    /// <summary>Only the _bemi messages' contents, from <paramref name="lines"/>.</summary>
    public static List<string> Messages(IEnumerable<string> lines) =>
        lines.Where(l => l.StartsWith("message:", StringComparison.Ordinal) && l.Contains("prefix: _bemi", StringComparison.Ordinal))
            .Select(l => l[(l.IndexOf("content:", StringComparison.Ordinal) + "content:".Length)..]).ToList();

    public async ValueTask DisposeAsync() => await _h.ExecuteAsync("SELECT pg_drop_replication_slot($1)", _slot);
}
