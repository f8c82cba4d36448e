using System.CommandLine;
using System.Globalization;
using System.Text.RegularExpressions;
using Hindsight.Postgres;
using Hindsight.Queue;

namespace Hindsight.Cli;

/// <summary>The options that name the JetStream queue of the scale path (<c>--nats</c>, <c>--stream</c>, …), and the sizes and durations they take.</summary>
internal sealed partial class QueueArguments
{
    public Option<string[]> Nats { get; } = HindsightCli.ListOption("--nats",
        "The NATS cluster of the scale path (nats://h1:4222,nats://h2:4222): set up its JetStream stream and consumer too");

    public Option<string> Stream { get; } = new("--stream") { Description = "The JetStream stream's name", DefaultValueFactory = _ => "hindsight", HelpName = "name" };

    public Option<string> Consumer { get; } = new("--consumer") { Description = "The ingesters' durable consumer", DefaultValueFactory = _ => "ingest", HelpName = "name" };

    public Option<int> Replicas { get; } = new("--replicas") { Description = "With --nats: copies of each message in the cluster, 1 or 3", DefaultValueFactory = _ => 1 };

    public Option<string?> MaxBytes { get; } = new("--max-bytes")
    {
        Description = "With --nats: the most the stream holds (e.g. 10GB, 512MiB; none by default); when full, capture waits, nothing is dropped",
        HelpName = "size",
    };

    public Option<string?> MaxAge { get; } = new("--max-age")
    {
        Description = "With --nats: delete queued changes older than this (e.g. 7d, 12h; none by default, at least 1h), ingested or not",
        HelpName = "duration",
    };

    public IEnumerable<Option> All => [Nats, Stream, Consumer, Replicas, MaxBytes, MaxAge];

    /// <summary>The queue's options, or null without <c>--nats</c>.</summary>
    public JetStreamQueueOptions? Read(ParseResult r)
    {
        var urls = NameList.Split(r.GetValue(Nats)).ToList();
        if (urls.Count == 0) return null;
        var options = new JetStreamQueueOptions
        {
            Urls = urls,
            Stream = r.GetValue(Stream)!,
            Consumer = r.GetValue(Consumer)!,
            Replicas = r.GetValue(Replicas),
            MaxBytes = r.GetValue(MaxBytes) is { } size ? ParseSize(size) : -1,
            MaxAge = r.GetValue(MaxAge) is { } age ? ParseDuration(age) : TimeSpan.Zero,
        };
        try { options.Validate(); }
        catch (ArgumentException e) { throw new CliException(HindsightCli.Describe(e).Replace($" (Parameter '{e.ParamName}')", "", StringComparison.Ordinal)); }
        return options;
    }

    /// <summary>Where capture or ingest finds the queue (<c>--nats</c>, <c>--stream</c>, <c>--consumer</c>), or null without <c>--nats</c>.</summary>
    public JetStreamQueueOptions? ReadConnection(ParseResult r)
    {
        var urls = NameList.Split(r.GetValue(Nats)).ToList();
        if (urls.Count == 0) return null;
        // run takes no --consumer: the default stands there.
        var options = new JetStreamQueueOptions
        {
            Urls = urls, Stream = r.GetValue(Stream)!, Consumer = r.GetValue(Consumer) is { Length: > 0 } consumer ? consumer : "ingest",
        };
        try { options.Validate(); }
        catch (ArgumentException e) { throw new CliException(HindsightCli.Describe(e).Replace($" (Parameter '{e.ParamName}')", "", StringComparison.Ordinal)); }
        return options;
    }

    /// <summary>Bytes from <c>10GB</c>, <c>512MiB</c>, <c>1048576</c> (decimal units are powers of 1000, binary ones of 1024).</summary>
    public static long ParseSize(string text)
    {
        var m = SizePattern().Match(text.Trim());
        if (!m.Success) throw new CliException($"--max-bytes: '{text}' is not a size such as 10GB, 512MiB or 1048576");
        var number = decimal.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        var unit = m.Groups[2].Value.ToUpperInvariant();
        decimal factor = unit switch
        {
            "" or "B" => 1, "KB" => 1e3m, "MB" => 1e6m, "GB" => 1e9m, "TB" => 1e12m,
            "KIB" => 1L << 10, "MIB" => 1L << 20, "GIB" => 1L << 30, "TIB" => 1L << 40,
            _ => throw new CliException($"--max-bytes: unknown unit '{m.Groups[2].Value}' (B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)"),
        };
        return (long)(number * factor);
    }

    /// <summary>A duration from <c>7d</c>, <c>12h</c>, <c>30m</c>, <c>90s</c>, or a TimeSpan (<c>1.00:00:00</c>).</summary>
    public static TimeSpan ParseDuration(string text)
    {
        var m = DurationPattern().Match(text.Trim());
        if (m.Success)
        {
            var n = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            return m.Groups[2].Value switch { "d" => TimeSpan.FromDays(n), "h" => TimeSpan.FromHours(n), "m" => TimeSpan.FromMinutes(n), _ => TimeSpan.FromSeconds(n) };
        }
        if (TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var span)) return span;
        throw new CliException($"--max-age: '{text}' is not a duration such as 7d, 12h, 30m or 1.00:00:00");
    }

    [GeneratedRegex(@"^(\d+(?:\.\d+)?)\s*([A-Za-z]*)$")]
    private static partial Regex SizePattern();

    [GeneratedRegex(@"^(\d+(?:\.\d+)?)\s*(d|h|m|s)$")]
    private static partial Regex DurationPattern();

    /// <summary>"queue: stream hindsight created (1 replica, no byte limit, no age limit, duplicate window 10 min); consumer ingest created".</summary>
    public static string Text(JetStreamSetupReport q) => string.Create(CultureInfo.InvariantCulture,
        $"queue: stream {q.Stream} {q.StreamAction} ({q.Replicas} replica{(q.Replicas == 1 ? "" : "s")}, " +
        $"{(q.MaxBytes < 0 ? "no byte limit" : $"at most {q.MaxBytes:N0} bytes")}, {(q.MaxAge == TimeSpan.Zero ? "no age limit" : $"messages kept {q.MaxAge.TotalHours:0.#} h")}, " +
        $"duplicate window {q.DuplicateWindow.TotalMinutes:0.#} min); consumer {q.Consumer} {q.ConsumerAction}\n");
}
