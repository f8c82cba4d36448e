using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Threading.Channels;
using Hindsight.Capture;
using Hindsight.Stitch;
using Xunit;

namespace Hindsight.Tests.Stitch;

/// <summary>Runs a real <see cref="TransactionStitcher"/> over a sequence of capture events, fed through a bounded
/// channel as the replication reader feeds it, into a <see cref="RecordingSink"/>.</summary>
internal static class Stitching
{
    /// <summary>The worker's default context size limit.</summary>
    public const int DefaultContextLimit = 64 * 1024;

    public static readonly byte[] RedactionKey = Encoding.ASCII.GetBytes("stitch-tests-redaction-key");

    /// <summary>Feeds <paramref name="events"/> to a stitcher writing to <paramref name="sink"/> and returns once the
    /// stitcher has drained the channel and committed everything; the acknowledged LSNs are in <see cref="RecordingSink.Acks"/>.</summary>
    public static async Task<RecordingSink> RunAsync(RecordingSink sink, IEnumerable<CaptureEvent> events,
        int contextLimit = DefaultContextLimit, ColumnRules? rules = null)
    {
        var options = new StitchOptions(CommitInterval: TimeSpan.FromMilliseconds(5), MaxChangesPerCommit: 10_000, contextLimit);
        var stitcher = new TransactionStitcher(sink, options, rules ?? new ColumnRules([], []), RedactionKey);
        var channel = Channel.CreateBounded<CaptureEvent[]>(4);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var durable = new List<ulong>();
        var run = stitcher.RunAsync(channel.Reader, durable.Add, timeout.Token);
        // Each event as if the reader then waited for the next one (the stream quiet after each).
        foreach (var ev in events) await channel.Writer.WriteAsync([ev, ReaderIdleEvent.Instance], timeout.Token);
        channel.Writer.Complete();
        await run;

        Assert.Equal(sink.Acks, durable);
        Assert.False(sink.HasUncommittedWork, "the stitcher returned with work left uncommitted");
        Assert.Equal(sink.Changes.Count, sink.DurableChanges);
        return sink;
    }

    /// <summary>Runs with a sink that holds nothing yet.</summary>
    public static Task<RecordingSink> RunAsync(params CaptureEvent[] events) => RunAsync(new RecordingSink(), events);
}

/// <summary>Compares JSON as jsonb does for objects (key order does not matter) but keeps numbers' text, so
/// <c>10.50</c> and <c>10.5</c> differ, as <c>to_jsonb()</c> of a numeric keeps its scale.</summary>
internal static class JsonAssert
{
    private static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static void Equal(string expected, string actual) => Assert.Equal(Canonical(expected), Canonical(actual));

    public static string Canonical(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer, Options)) Write(w, doc.RootElement);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static void Write(Utf8JsonWriter w, JsonElement e)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.Object:
                w.WriteStartObject();
                foreach (var p in e.EnumerateObject().OrderBy(p => p.Name, StringComparer.Ordinal))
                {
                    w.WritePropertyName(p.Name);
                    Write(w, p.Value);
                }
                w.WriteEndObject();
                break;
            case JsonValueKind.Array:
                w.WriteStartArray();
                foreach (var item in e.EnumerateArray()) Write(w, item);
                w.WriteEndArray();
                break;
            case JsonValueKind.String:
                w.WriteStringValue(e.GetString());
                break;
            default:
                w.WriteRawValue(e.GetRawText());
                break;
        }
    }
}
