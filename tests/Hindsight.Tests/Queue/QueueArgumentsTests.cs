using Hindsight.Cli;
using Hindsight.Queue;
using NATS.Client.JetStream.Models;
using Xunit;

namespace Hindsight.Tests.Queue;

/// <summary>The queue's sizes, durations and conflict rules, without a server.</summary>
[Trait("Category", "Fast")]
public sealed class QueueArgumentsTests
{
    [Theory]
    [InlineData("1048576", 1L << 20)]
    [InlineData("64MiB", 64L << 20)]
    [InlineData("10GB", 10_000_000_000L)]
    [InlineData("1.5 GiB", 3L << 29)]
    public void Sizes_read_in_decimal_and_binary_units(string text, long bytes) => Assert.Equal(bytes, QueueArguments.ParseSize(text));

    [Theory]
    [InlineData("7d", 7 * 24 * 3600)]
    [InlineData("12h", 12 * 3600)]
    [InlineData("90s", 90)]
    [InlineData("1.00:00:00", 24 * 3600)]
    public void Durations_read_as_units_or_a_timespan(string text, int seconds) => Assert.Equal(TimeSpan.FromSeconds(seconds), QueueArguments.ParseDuration(text));

    [Fact]
    public void A_stream_that_drops_old_messages_by_byte_or_age_limit_is_taken_over_and_made_to_refuse_instead()
    {
        var ours = new JetStreamQueueOptions { Urls = ["nats://127.0.0.1:4222"] };
        // Byte and age limits with discard old: updatable to discard new, so not a conflict.
        Assert.Null(JetStreamSetup.StreamConflict(new StreamConfig("hindsight", ["hindsight.changes.>"])
        {
            Retention = StreamConfigRetention.Workqueue, Discard = StreamConfigDiscard.Old, MaxBytes = 1 << 30, DuplicateWindow = TimeSpan.FromMinutes(2),
        }, ours));
        Assert.NotNull(JetStreamSetup.StreamConflict(new StreamConfig("hindsight", ["hindsight.changes.>"])
        {
            Retention = StreamConfigRetention.Interest,
        }, ours));
    }

    [Fact]
    public void The_duplicate_window_must_cover_the_resend_horizon()
    {
        var e = Assert.Throws<ArgumentException>(() =>
            new JetStreamQueueOptions { Urls = ["nats://127.0.0.1:4222"], DuplicateWindow = TimeSpan.FromSeconds(30) }.Validate());
        Assert.Contains("at least 2 min", e.Message, StringComparison.Ordinal);
    }
}
