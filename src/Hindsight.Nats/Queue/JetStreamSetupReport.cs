namespace Hindsight.Queue;

/// <summary>What <see cref="JetStreamSetup"/> did: for the stream and for the consumer, <c>created</c>, <c>updated</c> or <c>unchanged</c>.</summary>
/// <param name="Stream">The stream's name.</param>
/// <param name="StreamAction">What was done to it.</param>
/// <param name="Consumer">The consumer's name.</param>
/// <param name="ConsumerAction">What was done to it.</param>
/// <param name="Replicas">The stream's replicas now.</param>
/// <param name="MaxBytes">Its byte limit now (-1: none).</param>
/// <param name="MaxAge">Its age limit now (zero: none).</param>
/// <param name="DuplicateWindow">Its duplicate window now.</param>
public sealed record JetStreamSetupReport(string Stream, string StreamAction, string Consumer, string ConsumerAction, int Replicas, long MaxBytes,
    TimeSpan MaxAge, TimeSpan DuplicateWindow);
