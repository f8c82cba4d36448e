using System.Buffers;
using System.Text;
using Hindsight.Model;
using Hindsight.Queue;
using Hindsight.Sink;
using Hindsight.Tests.Infrastructure;
using NATS.Client.Core;
using NATS.Client.JetStream;
using Xunit;

namespace Hindsight.Tests.Queue;

/// <summary>A transaction on the queue: split into parts at row boundaries, read back from its headers, ids that let JetStream drop a resend.</summary>
[Trait("Category", "Fast")]
public sealed class QueueMessageTests
{
    private static readonly DateTime Committed = new(2026, 12, 4, 21, 0, 0, DateTimeKind.Utc);

    /// <summary>The rows of one transaction as the store's COPY tuples: <paramref name="count"/> changes, some with big images.</summary>
    internal static byte[] Tuples(int count, ulong commitLsn = 0x1_0000_0000)
    {
        var output = new ArrayBufferWriter<byte>();
        for (var i = 1; i <= count; i++)
        {
            var pad = new string('x', i % 7 == 0 ? 3000 : 40);
            ChangeRowEncoder.Write(output, new ChangeRecord
            {
                Schema = "public", Table = "orders", PrimaryKey = i.ToString(System.Globalization.CultureInfo.InvariantCulture), Operation = Operation.Update,
                Before = Encoding.UTF8.GetBytes($$"""{"id":{{i}},"note":"old"}"""), After = Encoding.UTF8.GetBytes($$"""{"id":{{i}},"note":"{{pad}}"}"""),
                Context = Encoding.UTF8.GetBytes("""{"userId":"u1"}"""), Position = commitLsn - 100 + (ulong)i, QueuedAt = Committed,
            }, "shop"u8, "shop"u8, 7, commitLsn, Committed, i);
        }
        return output.WrittenSpan.ToArray();
    }

    [Fact]
    public void A_transaction_splits_at_row_boundaries_and_its_parts_read_back_from_their_headers()
    {
        var tuples = Tuples(500);
        var parts = QueueMessage.Split("shop", "shop", "hindsight", 0x1_0000_0000, 0x1_0000_0040, Committed, tuples, partBytes: 16 * 1024);
        Assert.True(parts.Count > 3, $"{parts.Count} parts");
        Assert.Equal(tuples, parts.SelectMany(p => p.Tuples.ToArray()));
        Assert.Equal(500, parts.Sum(p => p.Changes));
        Assert.All(parts, p => Assert.True(p.Tuples.Length <= 16 * 1024));
        Assert.Equal(Enumerable.Range(1, parts.Count), parts.Select(p => p.Part));
        Assert.Equal(parts.Select((_, i) => i == parts.Count - 1), parts.Select(p => p.Last));
        // Ordinals run on from part to part: each part's first row follows the previous part's last.
        var firstOrdinals = parts.Select(p => System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(ChangeRowEncoder.Read(p.Tuples.Span, ChangeRowEncoder.Field.Ordinal))).ToList();
        for (var i = 1; i < parts.Count; i++) Assert.Equal(firstOrdinals[i - 1] + parts[i - 1].Changes, firstOrdinals[i]);
        Assert.Equal(parts.Count, parts.Select(p => p.MessageId).Distinct().Count());
        Assert.Equal("shop:0000000100000000:0000000100000000:1", parts[0].MessageId);
        // Only the last part completes the transaction, and says where the slot may be acknowledged.
        Assert.Equal(1, parts.Sum(p => p.Transactions));
        Assert.Equal(0x1_0000_0040UL, parts[^1].EndLsn);
        Assert.All(parts.SkipLast(1), p => Assert.Equal(0UL, p.EndLsn));

        foreach (var p in parts)
        {
            var read = QueueMessage.Read(p.Headers(), p.Tuples);
            Assert.Equal(p with { Tuples = default }, read with { Tuples = default });
            Assert.True(read.Tuples.Span.SequenceEqual(p.Tuples.Span));
        }
    }

    [Fact]
    public void A_row_bigger_than_the_part_limit_makes_a_part_alone_and_a_small_transaction_is_one_part()
    {
        var one = QueueMessage.Split("shop", "shop", "hindsight", 1, 2, Committed, Tuples(3));
        Assert.Equal((1, true, 3), (one.Single().Part, one.Single().Last, one.Single().Changes));
        var big = QueueMessage.Split("shop", "shop", "hindsight", 1, 2, Committed, Tuples(14), partBytes: 1000);
        Assert.Contains(big, p => p.Changes == 1 && p.Tuples.Length > 1000); // rows 7 and 14 carry 3,000 bytes each
        Assert.Equal(14, big.Sum(p => p.Changes));
    }

    [Fact]
    public void A_message_with_a_missing_or_contradicting_header_is_refused()
    {
        var p = QueueMessage.Split("shop", "shop", "hindsight", 1, 2, Committed, Tuples(5)).Single();
        var headers = p.Headers();
        headers.Remove("Hindsight-Last-Commit-Lsn");
        Assert.Contains("Hindsight-Last-Commit-Lsn", Assert.Throws<FormatException>(() => QueueMessage.Read(headers, p.Tuples)).Message, StringComparison.Ordinal);
        headers = p.Headers();
        headers["Hindsight-Changes"] = "6";
        Assert.Contains("holds 5 rows, its header says 6", Assert.Throws<FormatException>(() => QueueMessage.Read(headers, p.Tuples)).Message, StringComparison.Ordinal);
        headers = p.Headers();
        headers["Hindsight-Format"] = "changes-json-v9";
        Assert.Throws<FormatException>(() => QueueMessage.Read(headers, p.Tuples));
        Assert.Throws<FormatException>(() => QueueMessage.Read(p.Headers(), p.Tuples[..^3])); // a truncated row
    }
}

/// <summary>JetStream itself drops a resent part by its message id, within the duplicate window setup gives the stream.</summary>
[Trait("Category", "PostgreSQL")] // needs a server (NATS)
public sealed class QueueMessageDeduplicationTests
{
    [Fact]
    public async Task Parts_published_twice_are_stored_once_and_read_back_intact()
    {
        await using var nats = await NatsCluster.StartAsync();
        await JetStreamSetup.RunAsync(new JetStreamQueueOptions { Urls = nats.Urls });
        await using var connection = new NatsConnection(new NatsOpts { Url = nats.Urls[0] });
        var js = new NatsJSContext(connection);
        var parts = QueueMessage.Split("shop", "shop", "hindsight", 0x1_0000_0000, 0x1_0000_0040, DateTime.UtcNow, QueueMessageTests.Tuples(300), partBytes: 8 * 1024);
        var duplicates = 0;
        for (var round = 0; round < 2; round++) // a worker's resend after a crash publishes the same parts again
            foreach (var p in parts)
            {
                var ack = await js.PublishAsync("hindsight.changes.shop", p.Tuples.ToArray(), headers: p.Headers());
                // A duplicate is a success for a resend (the client's EnsureSuccess treats it as an error).
                if (ack.Duplicate) duplicates++;
                else ack.EnsureSuccess();
            }
        Assert.Equal(parts.Count, duplicates);
        var stream = await js.GetStreamAsync("hindsight");
        Assert.Equal(parts.Count, (long)stream.Info.State.Messages);

        var consumer = await js.GetConsumerAsync("hindsight", "ingest");
        var read = new List<QueueMessage>();
        await foreach (var m in consumer.FetchAsync<byte[]>(new NatsJSFetchOpts { MaxMsgs = parts.Count + 5, Expires = TimeSpan.FromSeconds(2) }))
        {
            read.Add(QueueMessage.Read(m.Headers!, m.Data));
            await m.AckAsync();
        }
        Assert.Equal(parts.Select(p => p.MessageId), read.Select(r => r.MessageId));
        Assert.Equal(parts.SelectMany(p => p.Tuples.ToArray()), read.SelectMany(r => r.Tuples.ToArray()));
    }
}
