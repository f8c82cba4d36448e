namespace Hindsight.Queue;

/// <summary>
/// Where and how the scale path queues changes: a JetStream stream on a NATS cluster, and the durable consumer the
/// ingesters share. Defaults: stream <c>hindsight</c>, consumer <c>ingest</c>, one replica, no size or age limit.
/// </summary>
public sealed class JetStreamQueueOptions
{
    /// <summary>
    /// The longest a capture worker may publish a change again after publishing it once (it resends what the slot has not
    /// confirmed when it reconnects). The stream's duplicate window must be at least this long, so that JetStream itself
    /// drops the resend by its message id.
    /// </summary>
    public static readonly TimeSpan ResendHorizon = TimeSpan.FromMinutes(2);

    /// <summary>The smallest age limit accepted: a shorter one would drop changes an ingester that is down for a while has not read.</summary>
    public static readonly TimeSpan MinMaxAge = TimeSpan.FromHours(1);

    /// <summary>The cluster's URLs (<c>nats://h1:4222</c>, …); the client tries them in turn.</summary>
    public required IReadOnlyList<string> Urls { get; init; }

    /// <summary>The stream's name.</summary>
    public string Stream { get; init; } = "hindsight";

    /// <summary>The durable consumer every ingester reads through.</summary>
    public string Consumer { get; init; } = "ingest";

    /// <summary>Copies of each message in the cluster: 1, or 3 to survive a node's loss.</summary>
    public int Replicas { get; init; } = 1;

    /// <summary>The most bytes the stream holds; -1 for no limit. When full, publishes are refused (capture waits), never old messages dropped.</summary>
    public long MaxBytes { get; init; } = -1;

    /// <summary>The age after which JetStream deletes a message, ingested or not; zero for no limit (the default).</summary>
    public TimeSpan MaxAge { get; init; } = TimeSpan.Zero;

    /// <summary>How long JetStream remembers message ids to drop resends; at least <see cref="ResendHorizon"/>.</summary>
    public TimeSpan DuplicateWindow { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>The subjects of the stream: <c>{stream}.changes.{source}</c>.</summary>
    public string Subjects => Stream + ".changes.>";

    /// <summary>Throws unless the settings can serve.</summary>
    /// <exception cref="ArgumentException">A setting is missing or out of range, named.</exception>
    public void Validate()
    {
        if (Urls is not { Count: > 0 }) throw new ArgumentException("give the NATS cluster's URLs, e.g. nats://127.0.0.1:4222", nameof(Urls));
        foreach (var url in Urls)
            if (!Uri.TryCreate(url, UriKind.Absolute, out var u) || u.Scheme is not ("nats" or "tls" or "ws" or "wss"))
                throw new ArgumentException($"'{url}' is not a NATS URL such as nats://127.0.0.1:4222", nameof(Urls));
        CheckName(Stream, nameof(Stream));
        CheckName(Consumer, nameof(Consumer));
        if (Replicas is not (1 or 3)) throw new ArgumentException($"replicas must be 1 or 3 (is {Replicas})", nameof(Replicas));
        if (MaxBytes is not -1 and < 1 << 20) throw new ArgumentException($"the stream's byte limit must be at least 1 MiB, or -1 for none (is {MaxBytes})", nameof(MaxBytes));
        if (MaxAge != TimeSpan.Zero && MaxAge < MinMaxAge)
            throw new ArgumentException($"the stream's age limit must be at least {MinMaxAge.TotalHours:0} h, or none: JetStream deletes older messages whether or not they were ingested (is {MaxAge})", nameof(MaxAge));
        if (DuplicateWindow < ResendHorizon)
            throw new ArgumentException($"the duplicate window must be at least {ResendHorizon.TotalMinutes:0} min, the resend horizon (is {DuplicateWindow})", nameof(DuplicateWindow));
    }

    private static void CheckName(string name, string setting)
    {
        if (string.IsNullOrEmpty(name) || name.Length > 64 || name.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '_' or '-')))
            throw new ArgumentException($"'{name}' is not a valid {setting.ToLowerInvariant()} name: 1 to 64 of A-Z a-z 0-9 _ -", setting);
    }
}
