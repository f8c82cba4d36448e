using Hindsight.Capture;
using Xunit;

namespace Hindsight.Tests.Capture;

/// <summary>When the reader sleeps before its next read: only after a brief wait for the source, once per wait.</summary>
[Trait("Category", "Fast")]
public sealed class ReadPacerTests
{
    private static readonly TimeSpan Pause = TimeSpan.FromMilliseconds(1);

    [Fact]
    public void A_brief_wait_makes_one_pause_due()
    {
        var pacer = new ReadPacer(Pause);
        pacer.WaitEnded(TimeSpan.FromMilliseconds(0.3));
        Assert.True(pacer.TakePause());
        Assert.False(pacer.TakePause()); // the reads after the pause find what arrived meanwhile, and do not pause again
    }

    [Fact]
    public void A_long_wait_means_a_quiet_stream_and_no_pause()
    {
        var pacer = new ReadPacer(Pause);
        pacer.WaitEnded(Pause * ReadPacer.BusyWaitInPauses);
        Assert.False(pacer.TakePause());
        pacer.WaitEnded(TimeSpan.FromSeconds(3));
        Assert.False(pacer.TakePause());
    }

    [Fact]
    public void Reads_that_do_not_wait_never_pause()
    {
        var pacer = new ReadPacer(Pause);
        Assert.False(pacer.TakePause());
        pacer.WaitEnded(TimeSpan.Zero);
        Assert.True(pacer.TakePause());
        Assert.False(pacer.TakePause());
    }

    [Fact]
    public void A_zero_pause_never_pauses()
    {
        var pacer = new ReadPacer(TimeSpan.Zero);
        pacer.WaitEnded(TimeSpan.Zero);
        Assert.False(pacer.TakePause());
    }

    [Fact]
    public void The_measured_wait_is_the_time_between_its_start_and_end()
    {
        var pacer = new ReadPacer(TimeSpan.FromMilliseconds(5)); // busy below 50 ms
        pacer.WaitBegins();
        pacer.WaitEnded();
        Assert.True(pacer.TakePause());
        pacer.WaitBegins();
        Thread.Sleep(80);
        pacer.WaitEnded();
        Assert.False(pacer.TakePause());
    }
}
